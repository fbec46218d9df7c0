# Sourced by benchmarks and tests that drive a real server: `fresh_server NAME BIN` creates the
# database NAME on the PostgreSQL server at $admin (dropping an old one), bootstraps its roles,
# migrates it and serves BIN on a free port, setting `db_url`, `base` (http://host:port) and
# `server_pid`; `work` is a scratch folder. `fresh_server_cleanup` (run on EXIT) stops the server
# and drops the database. Extra environment for the server is whatever the caller exported.
# shellcheck shell=bash

fresh_server() {
  local name=$1 bin=$2
  db_url="${admin%/*}/$name"
  fresh_server_db=$name
  work=${work:-$(mktemp -d)}
  psql "$admin" -qc "DROP DATABASE IF EXISTS $name (FORCE)" -c "CREATE DATABASE $name"
  export DATABASE_URL="$db_url" CRYOPROTECT_BACKUP_DIR="$work/backups"
  local api_password
  api_password=$("$bin" db bootstrap | sed -n 's/^generated password for cryoprotect_api: //p')
  [[ -n $api_password ]] || { echo "$name: db bootstrap printed no API password" >&2; return 1; }
  export DATABASE_API_URL="postgres://cryoprotect_api:$api_password@${db_url#postgres://*@}"
  "$bin" db migrate > /dev/null
  "$bin" serve --port 0 > "$work/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 150); do grep -q "listening on" "$work/serve.log" && break; sleep 0.2; done
  base=$(grep -o 'http://[0-9.:]*' "$work/serve.log" | head -1)
  [[ -n $base ]] || { cat "$work/serve.log" >&2; echo "$name: the server did not start" >&2; return 1; }
}

fresh_server_cleanup() {
  [[ -n ${server_pid:-} ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [[ -n ${fresh_server_db:-} ]] && psql "$admin" -qc "DROP DATABASE IF EXISTS $fresh_server_db (FORCE)" || true
  [[ -n ${work:-} ]] && rm -rf "$work"
}

# Register a user and print its access token.
fresh_server_user() {
  curl -sf -H 'content-type: application/json' "$base/api/v1/auth/register" \
    -d "{\"email\":\"$1\",\"password\":\"correct horse battery\",\"display_name\":\"$2\"}"
}

# Load FreeSolv (data/public/freesolv.csv) as user $1's molecules and measured hydration free
# energies, straight into the database at $db_url (as service_role).
fresh_server_freesolv() {
  psql "$db_url" -q -v user="$1" -v csv="$PWD/data/public/freesolv.csv" <<'SQL'
CREATE TEMP TABLE freesolv (iupac text, smiles text, expt double precision, calc double precision);
GRANT SELECT ON freesolv TO service_role;
\set copy '\\copy freesolv FROM ' :'csv' ' WITH (FORMAT csv, HEADER true)'
:copy
SET ROLE service_role;
SET request.jwt.claims = '{"role": "service_role"}';
INSERT INTO molecules (canonical_smiles, name, created_by)
    SELECT DISTINCT ON (smiles) smiles, iupac, :'user'::uuid FROM freesolv ORDER BY smiles;
INSERT INTO experiments (molecule_id, property_type_id, numeric_value, created_by)
    SELECT m.id, t.id, f.expt, :'user'::uuid
    FROM freesolv f JOIN molecules m ON m.canonical_smiles = f.smiles
    CROSS JOIN property_types t WHERE t.name = 'Hydration Free Energy';
SQL
}
