#!/usr/bin/env bash
# Prediction latency and throughput through the HTTP API (issue goal: p99 under 10 ms for one
# SMILES with a 100-tree forest, 8 concurrent clients, on this machine).
#
# Creates `cryo_bench_predict` on the PostgreSQL server at BENCH_ADMIN_URL (default
# postgres://postgres@127.0.0.1:5432/postgres), loads FreeSolv (642 molecules with measured
# hydration free energy) as one user's experiments, trains a 100-tree random forest on RDKit
# descriptors with CV+ intervals through the job API, promotes it, and then measures:
#   1. single-SMILES predict: one client, then 8 concurrent clients, for SECONDS each
#      (p50/p90/p99 latency, req/s; the load generator shares the machine's 2 cores);
#   2. batch predict: 1,000 SMILES per request, one client (molecules/s).
# Usage: bench/predict.sh [SECONDS]   (default 15)
# CONFORMAL=split|cv-plus picks the interval method; LEARNING_CURVE=false leaves out the learning
# curve that training measures by default (five more cross-validations).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-15}"
admin="${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
scripts/fetch-datasets.sh data/public > /dev/null
cargo build --release --locked -q -p cryo-cli --example loadgen --bin cryoprotect
bin=target/release/cryoprotect
loadgen=target/release/examples/loadgen
source scripts/lib/fresh-server.sh
trap fresh_server_cleanup EXIT
# The benchmark is one client hammering predict: lift the per-user rate limit it would hit.
export CRYOPROTECT_LIMITS_RATE_HEAVY_PER_MIN=0 CRYOPROTECT_LIMITS_RATE_API_PER_MIN=0
fresh_server cryo_bench_predict "$bin"
api() { curl -sf -H "authorization: Bearer $token" -H 'content-type: application/json' "$@"; }

reg=$(fresh_server_user bench@lab.example Bench)
token=$(jq -r .access_token <<<"$reg")
user=$(jq -r .user.id <<<"$reg")

echo "loading FreeSolv as $user's experiments..."
fresh_server_freesolv "$user"

model=$(api "$base/api/v1/models" -d '{"name":"FreeSolv forest","property":"Hydration Free Energy"}' | jq -r .id)
job=$(api "$base/api/v1/models/$model/train" \
  -d "{\"algorithm\":\"random_forest\",\"params\":{\"n_trees\":100},\"features\":\"rdkit\",\"conformal\":\"${CONFORMAL:-cv-plus}\",\"learning_curve\":${LEARNING_CURVE:-true}}" | jq -r .id)
started=$(date +%s.%N)
while :; do
  state=$(api "$base/api/v1/models/jobs/$job" | jq -r .state)
  [[ $state == succeeded ]] && break
  [[ $state == failed || $state == cancelled ]] && { api "$base/api/v1/models/jobs/$job"; exit 1; }
  sleep 0.5
done
train_s=$(echo "$(date +%s.%N) - $started" | bc)
api "$base/api/v1/models/$model/promote" -d '{"version":1}' > /dev/null

echo '{"smiles":"OCC(O)CO","level":0.9}' > "$work/single.json"
python3 - "$work/batch.json" <<'PY'
import csv, json, sys
smiles = [r["smiles"] for r in csv.DictReader(open("data/public/freesolv.csv"))]
batch = [{"smiles": smiles[i % len(smiles)]} for i in range(1000)]
json.dump({"inputs": batch, "level": 0.9}, open(sys.argv[1], "w"))
PY
api "$base/api/v1/models/$model/predict" -d @"$work/single.json" > /dev/null # warm the model cache
serial=$("$loadgen" "$base/api/v1/models/$model/predict" "$token" "$work/single.json" 1 "$seconds")
# BENCH_PERF=FILE records a CPU profile of the server during the concurrent run.
perf_pid=""
if [[ -n ${BENCH_PERF:-} ]]; then
  perf record -q -F 499 -g -p "$server_pid" -o "$BENCH_PERF" -- sleep "$seconds" 2>/dev/null &
  perf_pid=$!
fi
single=$("$loadgen" "$base/api/v1/models/$model/predict" "$token" "$work/single.json" 8 "$seconds")
[[ -n $perf_pid ]] && wait "$perf_pid"
batch=$("$loadgen" "$base/api/v1/models/$model/predict" "$token" "$work/batch.json" 1 "$seconds")
echo
echo "training (642 molecules, 43 descriptors, 100 trees, 5-fold CV + CV+ calibration): ${train_s} s"
jq -r '"single SMILES, \(.concurrency) client: \(.requests_per_second|floor) req/s, p50 \(.p50_ms*100|round/100) ms, p99 \(.p99_ms*100|round/100) ms"' <<<"$serial"
jq -r '"single SMILES, \(.concurrency) clients: \(.requests) requests, \(.failures) failed, \(.requests_per_second|floor) req/s, p50 \(.p50_ms*100|round/100) ms, p90 \(.p90_ms*100|round/100) ms, p99 \(.p99_ms*100|round/100) ms"' <<<"$single"
jq -r '"batch of 1000 SMILES, 1 client: \(.requests) requests, \(.failures) failed, \(.requests_per_second*1000|floor) molecules/s, p50 \(.p50_ms|round) ms per batch"' <<<"$batch"
