#!/usr/bin/env bash
# The mixture optimiser against SciPy's SLSQP on the same smooth objective: a degree-2 ridge
# model (scikit-learn) of a cocktail property over component amounts, maximised under bounds
# 0–60 %, Σ = 100 % and a linear ceiling, from the same starting points. Reports the best value
# each reached (ours should be ≥ SciPy's) and the time per run (ratio), per problem size.
# Usage: bench/optimise.sh [COMPONENTS...]   (default 4 6 10)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/venv.sh
bench_venv scipy,sklearn -- scipy scikit-learn
cargo build --release --locked -q -p cryo-ml --example optimise_problem
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sizes=("$@")
(( ${#sizes[@]} )) || sizes=(4 6 10)
for n in "${sizes[@]}"; do
  "$python" bench/optimise.py "$n" 8 5 > "$work/problem.json" 2> "$work/scipy.json"
  target/release/examples/optimise_problem < "$work/problem.json" > "$work/rust.json"
  "$python" - "$n" "$work/scipy.json" "$work/rust.json" <<'PY'
import json, sys
n = sys.argv[1]
s = json.load(open(sys.argv[2])); r = json.load(open(sys.argv[3]))
print(f"{n} components, 8 starts: best value cryoprotect {r['best']:.6f} (feasible {r['feasible']}) vs SciPy SLSQP {s['best']:.6f}; "
      f"difference {r['best'] - s['best']:+.2e}; time {r['seconds']*1000:.2f} ms vs {s['seconds']*1000:.2f} ms, ratio {r['seconds']/s['seconds']:.4f}x, SciPy/ours {s['seconds']/r['seconds']:.0f}x "
      f"({r['evaluations']} objective/constraint evaluations)")
PY
done
