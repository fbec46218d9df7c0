#!/usr/bin/env bash
# Values, not speed: each of the 43 RDKit descriptors CryoProtect computes through its C++
# bridge (Debian's RDKit 2022.09) against RDKit in Python from PyPI (current release) on the
# 1,021 molecules of the public solubility set. Differences are RDKit's own definitions
# changing between releases (documented in the README); anything else is a bug.
# Needs network access to PyPI once (rdkit and pandas into target/bench-venv).
# Usage: bench/descriptor_values.sh
set -euo pipefail
cd "$(dirname "$0")/.."
data=data/public
[[ -f $data/solubility.train.sdf ]] || ../shared/scripts/fetch-datasets.sh "$data"
source bench/venv.sh
bench_venv rdkit pandas -- rdkit pandas
cargo build --release --locked -q -p cryo-cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target/release/cryoprotect model featurize --data "$data/solubility.train.sdf" --target SOL \
  --features rdkit --out "$work/table.csv" 2> /dev/null
"$python" bench/descriptor_values.py "$work/table.csv"
