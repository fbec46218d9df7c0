#!/usr/bin/env bash
# Classifiers against scikit-learn on identical inputs: the Huuskonen solubility set's
# SOL_classification ((A) low, (B) medium, (C) high) with the 43 RDKit descriptors, written
# once with its fold numbers by `cryoprotect model featurize --classes`, then 5-fold CV over
# exactly those folds on both sides for logistic regression, random forest and gradient
# boosting with the same hyperparameters. Every metric is recomputed by scikit-learn from each
# side's held-out probabilities ("reported" is CryoProtect's own figure, which must agree).
# Prediction sets at 90 %: CryoProtect's marginal sets on raw probabilities against MAPIE's LAC
# (cross-conformal, same outer folds), and CryoProtect's default (Platt + class-conditional).
# Called by bench/ml.sh; runs alone too. Usage: bench/classify.sh [SEEDS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
data=data/public
[[ -f $data/solubility.train.sdf ]] || ../shared/scripts/fetch-datasets.sh "$data"
source bench/venv.sh
bench_venv sklearn pandas mapie -- scikit-learn pandas "mapie==0.9.2"
cargo build --release --locked -q -p cryo-cli
bin=target/release/cryoprotect
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n_seeds="${1:-3}"
target=SOL_classification
echo "solubility class (3 classes, 1,021 rows): held-out metrics recomputed by scikit-learn, mean over $n_seeds seeds"
printf '%-18s %-13s %8s %8s %8s %8s %8s %8s   %s\n' algorithm side ROC-AUC PR-AUC "bal.acc" Brier "log loss" ECE "reported (CryoProtect)"
sets_rows=()
for algorithm in logistic random_forest gradient_boosting; do
  : > "$work/cls.jsonl"
  for seed in $(seq 1 "$n_seeds"); do
    table="$work/sol.$seed.csv"
    [[ -f $table ]] || "$bin" model featurize --data "$data/solubility.train.sdf" --target "$target" --classes \
      --features rdkit --folds 5 --seed "$seed" --out "$table" 2> /dev/null
    for mode in raw platt; do
      if [[ $mode == raw ]]; then flags=(--calibration none --sets marginal); else flags=(--calibration platt --sets class_conditional); fi
      "$bin" model classify --data "$table" --matrix --target "$target" --split predefined \
        --algorithm "$algorithm" "${flags[@]}" --threads 1 --seed "$seed" --json \
        --predictions "$work/ours.$mode.csv" > "$work/ours.$mode.json"
    done
    "$python" bench/classify.py "$table" "$target" "$algorithm" "$seed" "$work/ours.raw.json" "$work/ours.platt.json" >> "$work/cls.jsonl"
  done
  for side in ours sklearn ours_platt; do
    jq -rs --arg s "$side" '[
        (map(.[$s].roc_auc) | add / length), (map(.[$s].pr_auc) | add / length),
        (map(.[$s].balanced_accuracy) | add / length), (map(.[$s].brier) | add / length),
        (map(.[$s].log_loss) | add / length), (map(.[$s].ece) | add / length),
        (if $s == "ours" then (map(.ours_reported) | "\(map(.roc_auc) | add / length | . * 1000 | round / 1000), \(map(.brier) | add / length | . * 10000 | round / 10000), \(map(.log_loss) | add / length | . * 10000 | round / 10000)") else "-" end)]
      | @tsv' "$work/cls.jsonl" |
      while IFS=$'\t' read -r auc ap bacc brier ll ece reported; do
        label=$side; [[ $side == ours ]] && label="cryoprotect"; [[ $side == ours_platt ]] && label="cp + platt"
        printf '%-18s %-13s %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f   %s\n' "$algorithm" "$label" "$auc" "$ap" "$bacc" "$brier" "$ll" "$ece" "$reported"
      done
  done
  sets_rows+=("$(jq -rs --arg a "$algorithm" '[$a,
      (map(.sets.ours_marginal[0]) | add / length), (map(.sets.ours_marginal[1]) | add / length),
      (map(.sets.mapie_marginal[0]) | add / length), (map(.sets.mapie_marginal[1]) | add / length),
      (map(.sets.ours_class_conditional[0]) | add / length), (map(.sets.ours_class_conditional[1]) | add / length),
      ([range(0; .[0].sets.ours_class_conditional_per_class | length) as $c | map(.sets.ours_class_conditional_per_class[$c]) | add / length | . * 1000 | round / 1000] | map(tostring) | join("/"))]
    | @tsv' "$work/cls.jsonl")")
done
echo
echo "90 % prediction sets: coverage / mean size (marginal: CryoProtect vs MAPIE LAC on raw probabilities; class-conditional: CryoProtect's default, per-class coverage low/medium/high)"
printf '%-18s %16s %16s %18s   %s\n' algorithm "cryoprotect" "MAPIE" "cp class-cond." "per class"
for row in "${sets_rows[@]}"; do
  IFS=$'\t' read -r a oc os mc ms cc cs per <<< "$row"
  printf '%-18s %8.3f / %5.2f %8.3f / %5.2f %10.3f / %5.2f   %s\n' "$a" "$oc" "$os" "$mc" "$ms" "$cc" "$cs" "$per"
done
