# Sourced by the bench scripts: the Python reference stacks live in one venv under target/,
# never in the system Python. `bench_venv MODULES -- PACKAGES` installs PACKAGES unless every
# module in MODULES imports, and sets $python.
bench_venv() {
  local modules=() packages=() seen=0 arg
  for arg in "$@"; do
    if [[ $arg == -- ]]; then seen=1; elif ((seen)); then packages+=("$arg"); else modules+=("$arg"); fi
  done
  local venv=target/bench-venv
  [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
  local imports
  imports=$(IFS=,; echo "${modules[*]}")
  "$venv/bin/python" -c "import $imports" 2>/dev/null || "$venv/bin/pip" install --quiet "${packages[@]}"
  python="$venv/bin/python"
}
