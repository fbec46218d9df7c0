#!/usr/bin/env bash
# Hyperparameter search: time and error of a whole nested cross-validation (5 outer folds, a
# search with 3 inner folds inside each) on the solubility set's 43 RDKit descriptors, for
# today's random search over gradient boosting against the histogram learner
# (hist_gradient_boosting) under random search and under successive halving, with the same
# candidate count. The same outer folds for every row of the table (one feature table, fold
# column, --split predefined); single-threaded, so the times compare.
# Usage: bench/hyperparameter_search.sh [TRIALS] [SEEDS]   (default 20 and 1)
set -euo pipefail
cd "$(dirname "$0")/.."
data=data/public
[[ -f $data/solubility.train.sdf ]] || ../shared/scripts/fetch-datasets.sh "$data"
cargo build --release --locked -q -p cryo-cli
bin=target/release/cryoprotect
trials="${1:-20}"
seeds="${2:-1}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-24s %-8s %6s %10s %9s %7s\n' algorithm search trials "RMSE" "s" speedup
declare -A base_secs
for seed in $(seq 1 "$seeds"); do
  "$bin" model featurize --data "$data/solubility.train.sdf" --target SOL --features rdkit --folds 5 \
    --seed "$seed" --out "$work/sol.$seed.csv" 2> /dev/null
done
for run in gradient_boosting:random hist_gradient_boosting:random hist_gradient_boosting:halving; do
  IFS=: read -r algorithm search <<< "$run"
  : > "$work/$algorithm.$search.jsonl"
  for seed in $(seq 1 "$seeds"); do
    "$bin" model evaluate --data "$work/sol.$seed.csv" --matrix --target SOL --split predefined \
      --algorithm "$algorithm" --search "$search" --trials "$trials" --inner-cv 3 --conformal none \
      --threads 1 --seed "$seed" --json \
      | jq -c '{rmse: .pooled.rmse, seconds: .wall_seconds}' >> "$work/$algorithm.$search.jsonl"
  done
  read -r rmse secs < <(jq -rs '[(map(.rmse) | add / length), (map(.seconds) | add / length)] | @tsv' "$work/$algorithm.$search.jsonl")
  [[ -n ${base_secs[x]:-} ]] || base_secs[x]=$secs
  printf '%-24s %-8s %6s %10.4f %9.1f %6.1fx\n' "$algorithm" "$search" "$trials" "$rmse" "$secs" \
    "$(echo "${base_secs[x]} / $secs" | bc -l)"
done
echo "nested CV: 5 outer folds x a ${trials}-candidate search on 3 inner folds; single-threaded; speedup against the first row"
