#!/usr/bin/env bash
# Screening throughput (#20): structures per second through a whole screening job (upload,
# chunks, featurisation, prediction with CV+ intervals and domain flags, the score and the
# structural alerts, results stored), against scikit-learn + RDKit in Python doing the
# featurisation, prediction, intervals and domain similarity alone on the same structures, in
# the same run, on this machine's 2 cores.
#
# Creates `cryo_bench_screening` at BENCH_ADMIN_URL (default
# postgres://postgres@127.0.0.1:5432/postgres), loads FreeSolv (642 molecules) as one user's
# experiments, trains a 100-tree random forest on the 43 RDKit descriptors with CV+ intervals,
# promotes it, and screens ROWS structures (default 20,000: FreeSolv's SMILES cycled) uploaded as
# a SMILES file with two workers, without and then with structural alerts. Usage: bench/screening.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-20000}"
admin="${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
scripts/fetch-datasets.sh data/public > /dev/null
source bench/venv.sh
bench_venv rdkit sklearn numpy -- rdkit scikit-learn numpy
cargo build --release --locked -q -p cryo-cli --bin cryoprotect
bin=target/release/cryoprotect
source scripts/lib/fresh-server.sh
trap fresh_server_cleanup EXIT
export CRYOPROTECT_LIMITS_RATE_HEAVY_PER_MIN=0 CRYOPROTECT_LIMITS_RATE_API_PER_MIN=0
export CRYOPROTECT_MODELS_WORKERS=2 CRYOPROTECT_BODY_LIMIT_BYTES=104857600
fresh_server cryo_bench_screening "$bin"
api() { curl -sf -H "authorization: Bearer $token" -H 'content-type: application/json' "$@"; }
reg=$(fresh_server_user bench@lab.example Bench)
token=$(jq -r .access_token <<<"$reg")
fresh_server_freesolv "$(jq -r .user.id <<<"$reg")"

model=$(api "$base/api/v1/models" -d '{"name":"FreeSolv forest","property":"Hydration Free Energy"}' | jq -r .id)
job=$(api "$base/api/v1/models/$model/train" \
  -d '{"algorithm":"random_forest","params":{"n_trees":100},"features":"rdkit","conformal":"cv-plus","learning_curve":false}' | jq -r .id)
while :; do
  state=$(api "$base/api/v1/models/jobs/$job" | jq -r .state)
  [[ $state == succeeded ]] && break
  [[ $state == failed || $state == cancelled ]] && { api "$base/api/v1/models/jobs/$job"; exit 1; }
  sleep 0.5
done
api "$base/api/v1/models/$model/promote" -d '{"version":1}' > /dev/null

"$python" - "$work/library.smi" "$rows" <<'PY'
import csv, sys
smiles = [r["smiles"] for r in csv.DictReader(open("data/public/freesolv.csv"))]
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(f"{smiles[i % len(smiles)]} row{i}\n")
PY
# One screening of the library; ALERTS=true|false. Prints its seconds.
screen() {
  jq -n --rawfile content "$work/library.smi" --arg model "$model" --argjson alerts "$1" \
    '{name: "bench", source: "upload", format: "smiles", content: $content, models: [{model_id: $model}], alerts: $alerts}' \
    > "$work/screen.json"
  local started id j state
  started=$(date +%s.%N)
  id=$(api "$base/api/v1/screenings" -d @"$work/screen.json" | jq -r .job.id)
  while :; do
    j=$(api "$base/api/v1/screenings/$id")
    state=$(jq -r .state <<<"$j")
    [[ $state == succeeded ]] && break
    [[ $state == failed || $state == cancelled ]] && { echo "$j" >&2; exit 1; }
    printf '\r  %s of %s chunks' "$(jq .chunks_done <<<"$j")" "$(jq .chunks <<<"$j")" >&2
    sleep 0.2
  done
  echo >&2
  [[ $(jq .rows_failed <<<"$j") == 0 ]] || { echo "rows failed: $j" >&2; exit 1; }
  echo "$(date +%s.%N) - $started" | bc
}
plain_s=$(screen false)
alerts_s=$(screen true)
# BENCH_LOG=FILE keeps the server's log (each chunk's seconds are in it).
[[ -n ${BENCH_LOG:-} ]] && cp "$work/serve.log" "$BENCH_LOG"
reference=$("$python" bench/screening.py data/public/freesolv.csv "$work/library.smi")
python3 - "$rows" "$plain_s" "$alerts_s" "$reference" <<'PY'
import json, sys
rows, plain, alerts, ref = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
print(f"screening {rows} structures (FreeSolv cycled), 100-tree forest on 43 RDKit descriptors, CV+ at 0.9:")
print(f"  RDKit + scikit-learn (in memory, n_jobs=2; features, value, CV+ interval, domain similarity): "
      f"{ref['seconds']:.1f} s = {ref['per_second']:.0f} structures/s")
for label, seconds in [("+ score, stored", plain), ("+ score and structural alerts, stored", alerts)]:
    rate = rows / seconds
    print(f"  ours (API, whole job, 2 workers, {label}): {seconds:.1f} s = {rate:.0f} structures/s, "
          f"{rate / ref['per_second']:.2f}x the reference (issue goal: >= 3x)")
PY
