#!/usr/bin/env bash
# Browser tests of the web interface (run by .ci/run): the real binary serves a fresh database,
# with a heavy-request rate limit high enough for one scripted user clicking faster than a person
# (the limit itself is tested in tests/api/limits.rs),
# ui.test.mjs seeds it through the public API and drives Debian's headless Chromium with
# playwright-core. Screenshots of the main pages go to SCREENSHOT_DIR (default
# target/ui-screenshots). Needs chromium and node/npm (scripts/setup.sh), a PostgreSQL server at
# CRYOPROTECT_TEST_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres) and the
# cryoprotect binary (BIN, default target/debug/cryoprotect, built if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
source tests/lib.sh
export SCREENSHOT_DIR="${SCREENSHOT_DIR:-$root/target/ui-screenshots}"
db=cryo_browser_test
work=$(mktemp -d)
server=""
cleanup() {
  [[ -z $server ]] || kill "$server" 2>/dev/null || true
  sleep 1
  drop_database "$db"
  rm -rf "$work"
}
trap cleanup EXIT

[[ -f data/public/freesolv.csv ]] || scripts/fetch-datasets.sh data/public
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

db_url=$(fresh_database "$db")
db_api_url=$(api_url "$db_url")
port=$(free_port)
DATABASE_URL="$db_url" \
DATABASE_API_URL="$db_api_url" \
CRYOPROTECT_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') \
CRYOPROTECT_BACKUP_DIR="$work/backups" \
CRYOPROTECT_LOG_FORMAT=json \
CRYOPROTECT_LIMITS_RATE_HEAVY_PER_MIN=600 \
  "$test_bin" serve --port "$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.2
done

if ! BASE_URL="http://127.0.0.1:$port" ADMIN_DB_URL="$db_url" CRYOPROTECT_BIN="$test_bin" \
  CRYOPROTECT_BACKUP_DIR="$work/backups" DATASET="$root/data/public/freesolv.csv" \
  CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" node tests/browser/ui.test.mjs; then
  echo "browser test: server log (last 40 lines):" >&2
  tail -n 40 "$work/server.log" >&2
  exit 1
fi
