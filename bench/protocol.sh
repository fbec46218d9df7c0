#!/usr/bin/env bash
# Protocol simulation against SciPy: the 10-step DMSO loading and sucrose-buffered unloading
# protocol of bench/protocol.json (a generic mammalian cell, 22 °C) simulated by
# `cryoprotect protocol simulate` (ode23s, cryo-physics) and by SciPy's solve_ivp(LSODA) on the
# same model written independently in bench/protocol.py, at the same tolerances. Reports the
# minimum and final relative volume on both sides (they must agree) and the mean time of one
# simulation (both timed inside the process, over REPEAT runs).
# Then design: every designer on bench/protocol-design.json (the same cell loaded to 2 M DMSO
# within 0.7–1.3 × isotonic), the toxicity-optimal design timed (goal < 2 s) and its cost set
# against the stepwise protocol with the fewest steps that keeps the limits; every design is
# re-simulated by SciPy (LSODA, dense output) to check independently that it keeps them, with
# its toxicity cost integrated there too.
# Usage: bench/protocol.sh [RTOL] [REPEAT]   (default 1e-6 and 200)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/venv.sh
bench_venv numpy scipy -- numpy scipy
cargo build --release --locked -q -p cryo-cli
rtol="${1:-1e-6}"
repeat="${2:-200}"
atol=1e-9
ours=$(target/release/cryoprotect protocol simulate bench/protocol.json --rtol "$rtol" --atol "$atol" --repeat "$repeat" --json | jq -c 'del(.trajectory)')
theirs=$("$python" bench/protocol.py bench/protocol.json "$rtol" "$atol" "$repeat")
printf '%-14s %12s %12s %14s %12s\n' side "min V/V0" "final V/V0" "final [DMSO]" "ms / sim"
for side in cryoprotect scipy; do
  json=$ours; [[ $side == scipy ]] && json=$theirs
  jq -r --arg s "$side" '[$s, .min_relative_volume, .final_relative_volume, .final_intracellular[0], .seconds_per_simulation * 1000] | @tsv' <<< "$json" \
    | awk -F'\t' '{ printf "%-14s %12.6f %12.6f %14.3e %12.3f\n", $1, $2, $3, $4, $5 }'
done
jq -rn --argjson a "$ours" --argjson b "$theirs" \
  '"speed-up \(($b.seconds_per_simulation / $a.seconds_per_simulation) * 10 | round / 10)x; min volume differs by \((($a.min_relative_volume - $b.min_relative_volume) | fabs) * 1e6 | round / 1e6)"'

echo
echo "design (bench/protocol-design.json, limits 0.7–1.3):"
problem=bench/protocol-design.json
count=1
until stepwise=$(target/release/cryoprotect protocol design "$problem" --designer stepwise --step-count "$count" --json); do
  count=$((count + 1))
  ((count <= 40)) || { echo "no stepwise protocol keeps the limits" >&2; exit 1; }
done
others=$(target/release/cryoprotect protocol design "$problem" --designer all --json || true)
designs=$(jq -c --argjson s "$stepwise" '[$s[0]] + [.[] | select(.designer != "stepwise")]' <<< "$others")
profiled=$(jq -c '.[] | select(.designer == "stepwise")' <<< "$others")
echo "the sample type's own stepwise protocol: $(jq -r '"\(.steps | length) steps, volume \(.min_relative_volume * 1000 | round / 1000)–\(.max_relative_volume * 1000 | round / 1000), \(if (.violations | length) > 0 then "breaks the limits" else "keeps the limits" end)"' <<< "$profiled")"
printf '%-18s %6s %8s %10s %10s %10s %9s %15s %15s\n' designer steps min cost "scipy cost" "× stepwise" seconds "ours min–max" "scipy min–max"
base=$(jq '.[0].toxicity_cost' <<< "$designs")
check=$(mktemp)
trap 'rm -f "$check"' EXIT
for i in $(seq 0 $(($(jq length <<< "$designs") - 1))); do
  d=$(jq -c ".[$i]" <<< "$designs")
  jq -c --slurpfile p "$problem" '{cell: $p[0].cell, steps: .steps}' <<< "$d" > "$check"
  scipy=$("$python" bench/protocol.py "$check" 1e-8 1e-10 1 dense alpha=1.6)
  jq -r --argjson s "$scipy" --argjson base "$base" '[.designer, (.steps | length), .total_time_min, .toxicity_cost, $s.toxicity_cost, .toxicity_cost / $base, .seconds, .min_relative_volume, .max_relative_volume, $s.min_relative_volume, $s.max_relative_volume] | @tsv' <<< "$d" \
    | awk -F'\t' '{ printf "%-18s %6d %8.1f %10.4f %10.4f %10.3f %9.3f %7.4f–%-7.4f %7.4f–%-7.4f\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }'
done
