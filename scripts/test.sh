#!/usr/bin/env bash
# Set up and run the whole test suite. Tests need a PostgreSQL server where they may create roles
# and databases: CRYOPROTECT_TEST_ADMIN_URL if set, else the local server at 127.0.0.1:5432 as
# `postgres` (trust auth), else a private throwaway cluster started here under /tmp.
# Extra arguments go to `cargo test` (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Public benchmark data for the model tests (FreeSolv, Huuskonen solubility), fetched once.
scripts/fetch-datasets.sh data/public
export CRYOPROTECT_DATASETS="$PWD/data/public"

log=$(mktemp)
private_pg=""
runas=()
bindir=""
cleanup() {
  rm -f "$log"
  if [[ -n "$private_pg" ]]; then
    "${runas[@]}" "$bindir/pg_ctl" -D "$private_pg/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$private_pg"
  fi
}
trap cleanup EXIT

admin_url="${CRYOPROTECT_TEST_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if ! psql "$admin_url" -Atqc 'select 1' >/dev/null 2>&1; then
  if [[ -n "${CRYOPROTECT_TEST_ADMIN_URL:-}" ]]; then
    echo "test: cannot connect to CRYOPROTECT_TEST_ADMIN_URL" >&2
    exit 1
  fi
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  port=54329
  echo "test: no usable PostgreSQL at 127.0.0.1:5432; starting a private one on port $port" >&2
  # Under /tmp: as root the server runs as `postgres`, which may not be able to enter this checkout.
  private_pg=$(mktemp -d /tmp/cryo-test-pg.XXXXXX)
  chmod 755 "$private_pg"
  if [[ $(id -u) -eq 0 ]]; then
    runas=(runuser -u postgres --)
    chown postgres:postgres "$private_pg"
  fi
  "${runas[@]}" "$bindir/initdb" -D "$private_pg/data" -U postgres -A trust --no-locale -E UTF8 >/dev/null
  "${runas[@]}" "$bindir/pg_ctl" -D "$private_pg/data" -l "$private_pg/log" -w \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >/dev/null
  admin_url="postgres://postgres@127.0.0.1:$port/postgres"
fi
export CRYOPROTECT_TEST_ADMIN_URL="$admin_url"

set +e
cargo test --workspace --locked "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole workspace (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1); if ($i ~ /^ignored/) s += $(i-1) } }
     END { printf "workspace: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
