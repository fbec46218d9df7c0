#!/usr/bin/env bash
# Schemathesis against the served OpenAPI document: generated requests (valid and invalid) for
# every operation, as an anonymous caller and as a signed-in user, checked for server errors and
# for responses that break the document (status codes, content types, body schemas).
# Usage: tests/schema/run.sh [EXAMPLES]   (per operation; default 25)
# Serves the debug binary (built here unless CRYOPROTECT_BIN names one) on PostgreSQL at
# CRYOPROTECT_TEST_ADMIN_URL.
set -euo pipefail
cd "$(dirname "$0")/../.."
examples="${1:-25}"
admin="${CRYOPROTECT_TEST_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
bin="${CRYOPROTECT_BIN:-target/debug/cryoprotect}"
[[ -n ${CRYOPROTECT_BIN:-} ]] || cargo build --locked -q -p cryo-cli --bin cryoprotect
venv="${SCHEMATHESIS_VENV:-$HOME/.cache/cryoprotect/schemathesis}"
[[ -x $venv/bin/schemathesis ]] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q 'schemathesis==4.32.5'; }
source scripts/lib/fresh-server.sh
trap fresh_server_cleanup EXIT
export CRYOPROTECT_ENV=test
# A fuzzer is one client sending thousands of requests: rate limits would answer most of them.
export CRYOPROTECT_LIMITS_RATE_HEAVY_PER_MIN=0 CRYOPROTECT_LIMITS_RATE_HEAVY_ADMIN_PER_MIN=0 \
  CRYOPROTECT_LIMITS_RATE_AUTH_PER_MIN=0 CRYOPROTECT_LIMITS_RATE_API_PER_MIN=0 \
  CRYOPROTECT_LOCKOUT_AFTER=1000000 CRYOPROTECT_ADDRESS_LOCKOUT_AFTER=1000000
fresh_server cryo_schema_test "$bin"
token=$(fresh_server_user fuzz@lab.example Fuzz | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# Sign-out and refresh would end the session the rest of the run uses.
common=(--url "$base" --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
  --max-examples "$examples" --seed 20261202 --workers 1 --no-color --suppress-health-check all
  --exclude-path /api/v1/auth/logout --exclude-path /api/v1/auth/refresh)
# One worker: with two, schemathesis 4.32.5 crashed inside itself on CPython 3.11 (a KeyError in
# its coverage cache; "AST constructor recursion depth mismatch", a thread-safety bug of 3.11's
# ast module, python/cpython#106905). Should a run still crash inside the tool ("ERRORS" with no
# failures) it is repeated once; a failure never is.
st_run() {
  local out=$work/st.out
  "$venv/bin/schemathesis" run "$base/api/openapi.json" "${common[@]}" "$@" 2>&1 | tee "$out" && return 0
  if grep -q '= ERRORS =' "$out" && ! grep -q '= FAILURES =' "$out"; then
    echo "schema test: schemathesis crashed internally; running again"
    "$venv/bin/schemathesis" run "$base/api/openapi.json" "${common[@]}" "$@"
  else
    return 1
  fi
}
status=0
echo "schema test: anonymous"
st_run || status=1
echo "schema test: signed in"
st_run -H "Authorization: Bearer $token" || status=1
if grep -q '"level":"ERROR"\|panicked' "$work/serve.log"; then
  grep '"level":"ERROR"\|panicked' "$work/serve.log" | head -20
  status=1
fi
exit $status
