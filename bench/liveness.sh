#!/usr/bin/env bash
# /health/live latency while hostile requests saturate the machine (issue #18: < 100 ms with both
# cores busy). Serves the release binary on a fresh database at BENCH_ADMIN_URL (default
# postgres://postgres@127.0.0.1:5432/postgres), registers an 8x8 carbon grid, and measures the
# probe's latency (curl, one request every 50 ms) first on an idle server, then while HOSTILE
# clients (default 4) loop on requests that each hold a compute thread to its deadline: an odd
# ring of 19 wildcards against the grid (exponential for the matcher, stopped at
# limits.compute_deadline_secs) and the largest structure the limits allow (400 atoms) to score.
# Rate limits are lifted so the hostile load reaches the compute pool (with them on, these
# clients are answered 429 after 20 requests a minute).
# Usage: bench/liveness.sh [SECONDS] [HOSTILE]   (defaults 20 and 4)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
hostile="${2:-4}"
admin="${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
bin="${CRYOPROTECT_BIN:-target/release/cryoprotect}"
[[ -n ${CRYOPROTECT_BIN:-} ]] || cargo build --release --locked -q -p cryo-cli --bin cryoprotect
source scripts/lib/fresh-server.sh
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  fresh_server_cleanup
}
trap cleanup EXIT
export CRYOPROTECT_LIMITS_RATE_HEAVY_PER_MIN=0 CRYOPROTECT_LIMITS_RATE_API_PER_MIN=0
fresh_server cryo_bench_liveness "$bin"
token=$(fresh_server_user bench@lab.example Bench | jq -r .access_token)
python3 - > "$work/grid.json" <<'PY'
import json
n = 8
idx = lambda r, c: r * n + c + 1
bonds = [(idx(r, c), idx(r, c + 1)) for r in range(n) for c in range(n - 1)] + \
        [(idx(r, c), idx(r + 1, c)) for r in range(n - 1) for c in range(n)]
lines = ["grid", "  bench", "", f"{n*n:>3}{len(bonds):>3}  0  0  0  0  0  0  0  0999 V2000"]
lines += [f"{c*1.5:>10.4f}{r*1.5:>10.4f}{0:>10.4f} C   0  0  0  0  0  0  0  0  0  0  0  0" for r in range(n) for c in range(n)]
lines += [f"{a:>3}{b:>3}  1  0" for a, b in bonds] + ["M  END"]
print(json.dumps({"name": "grid", "molblock": "\n".join(lines) + "\n"}))
PY
curl -sf -o /dev/null -H "authorization: Bearer $token" -H 'content-type: application/json' \
  "$base/api/v1/molecules" -d @"$work/grid.json"
odd="*1$(printf '~*%.0s' $(seq 18))~1"
long=$(printf 'C%.0s' $(seq 400))
one=$(curl -s -o "$work/one.json" -w '%{http_code} %{time_total}' -H "authorization: Bearer $token" \
  -H 'content-type: application/json' "$base/api/v1/molecules/search/substructure" -d "{\"smarts\":\"$odd\"}")
echo "one hostile search alone: HTTP ${one% *} after ${one#* } s ($(jq -r '.error.code // "no error"' "$work/one.json"))"

probe() { # SECONDS OUT: one /health/live every 50 ms, milliseconds per line
  local end=$((SECONDS + $1))
  : > "$2"
  while ((SECONDS < end)); do
    curl -s -o /dev/null -w '%{time_total}\n' "$base/health/live" | awk '{ printf "%.3f\n", $1 * 1000 }' >> "$2"
    sleep 0.05
  done
}
summary() { # FILE LABEL
  sort -n "$1" | awk -v label="$2" '{ v[NR] = $1 } END {
    printf "%-28s n=%-5d p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n", label, NR, v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1], v[NR] }'
}

probe "$seconds" "$work/idle"
for i in $(seq "$hostile"); do
  (
    while :; do
      if ((i % 2)); then
        curl -s -o /dev/null -w '%{http_code}\n' -H "authorization: Bearer $token" -H 'content-type: application/json' \
          "$base/api/v1/molecules/search/substructure" -d "{\"smarts\":\"$odd\"}"
      else
        curl -s -o /dev/null -w '%{http_code}\n' -H 'content-type: application/json' \
          "$base/api/v1/scoring/molecule" -d "{\"smiles\":\"$long\"}"
      fi
    done >> "$work/hostile.codes"
  ) &
  pids+=($!)
done
sleep 2
cpu() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
before=$(cpu)
probe "$seconds" "$work/busy"
used=$(( $(cpu) - before ))
cores=$(awk -v t="$used" -v hz="$(getconf CLK_TCK)" -v s="$seconds" 'BEGIN { printf "%.2f", t / hz / s }')
echo "bench/liveness: $(nproc) cores, $hostile hostile clients; the server used $cores cores during the busy probe"
summary "$work/idle" "/health/live, idle"
summary "$work/busy" "/health/live, under attack"
echo "hostile answers: $(sort "$work/hostile.codes" | uniq -c | tr '\n' ' ')"
