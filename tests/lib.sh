# Shared set-up for the end-to-end scripts (tests/deploy, tests/browser), sourced after `cd` to
# the repository root: the PostgreSQL server to use, the binary under test, free ports, and a
# fresh database with the API role bootstrapped as an operator would.
test_admin_url="${CRYOPROTECT_TEST_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
test_bin="${BIN:-$PWD/target/debug/cryoprotect}"
[[ -n ${BIN:-} ]] || cargo build -q -p cryo-cli # up to date with the source under test

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# fresh_database NAME: (re)creates it; prints its URL.
fresh_database() {
  psql "$test_admin_url" -qc "DROP DATABASE IF EXISTS $1 (FORCE)" -c "CREATE DATABASE $1" >&2
  echo "${test_admin_url%/*}/$1"
}

drop_database() { psql "$test_admin_url" -qc "DROP DATABASE IF EXISTS $1 (FORCE)" >/dev/null 2>&1 || true; }

# api_url DB_URL: runs `db bootstrap` and prints the URL of the API login role it created.
api_url() {
  local password
  password=$(DATABASE_URL="$1" "$test_bin" db bootstrap | sed -n 's/^generated password for cryoprotect_api: //p')
  [[ -n $password ]] || { echo "db bootstrap printed no API password" >&2; return 1; }
  echo "postgres://cryoprotect_api:$password@${1#postgres://*@}"
}
