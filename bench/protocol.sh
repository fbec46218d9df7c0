#!/usr/bin/env bash
# Protocol simulation against SciPy: the 10-step DMSO loading and sucrose-buffered unloading
# protocol of bench/protocol.json (a generic mammalian cell, 22 °C) simulated by
# `cryoprotect protocol simulate` (ode23s, cryo-physics) and by SciPy's solve_ivp(LSODA) on the
# same model written independently in bench/protocol.py, at the same tolerances. Reports the
# minimum and final relative volume on both sides (they must agree) and the mean time of one
# simulation (both timed inside the process, over REPEAT runs).
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
