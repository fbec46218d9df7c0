#!/usr/bin/env bash
# Set up and run the whole test suite. Tests need a PostgreSQL server where they may create roles
# and databases: CRYOPROTECT_TEST_ADMIN_URL if set, else the local server at 127.0.0.1:5432 as
# `postgres` (trust auth), else a private throwaway cluster started here under /tmp.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

admin_url="${CRYOPROTECT_TEST_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
private_pg=""
if ! psql "$admin_url" -Atqc 'select 1' >/dev/null 2>&1; then
  if [[ -n "${CRYOPROTECT_TEST_ADMIN_URL:-}" ]]; then
    echo "test: cannot connect to CRYOPROTECT_TEST_ADMIN_URL" >&2
    exit 1
  fi
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  # Under /tmp: as root the server runs as `postgres`, which may not be able to enter this checkout.
  private_pg=$(mktemp -d /tmp/cryo-test-pg.XXXXXX)
  chmod 755 "$private_pg"
  port=54329
  runas=()
  if [[ $(id -u) -eq 0 ]]; then runas=(runuser -u postgres --); fi
  echo "test: no usable PostgreSQL at 127.0.0.1:5432; starting a private one on port $port" >&2
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$private_pg"
  "${runas[@]}" "$bindir/initdb" -D "$private_pg/data" -U postgres -A trust --no-locale -E UTF8 >/dev/null
  "${runas[@]}" "$bindir/pg_ctl" -D "$private_pg/data" -l "$private_pg/log" -w \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >/dev/null
  trap '"${runas[@]}" "$bindir/pg_ctl" -D "$private_pg/data" -m fast stop >/dev/null' EXIT
  admin_url="postgres://postgres@127.0.0.1:$port/postgres"
fi
export CRYOPROTECT_TEST_ADMIN_URL="$admin_url"

cargo test --workspace --locked "$@"
