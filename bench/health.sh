#!/usr/bin/env bash
# Duration of a full `cryoprotect db health` run on a database with 100,000 molecules and
# 1,000,000 molecular property rows (goal: under 1 s). Uses the PostgreSQL server at
# BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres, a role that may create
# databases and roles), creates `cryo_bench_health`, and drops it afterwards.
# Usage: bench/health.sh [RUNS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
admin="${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db_url="${admin%/*}/cryo_bench_health"
cargo build --release --locked -q -p cryo-cli
bin=target/release/cryoprotect
psql "$admin" -qc "DROP DATABASE IF EXISTS cryo_bench_health" -c "CREATE DATABASE cryo_bench_health"
trap 'psql "$admin" -qc "DROP DATABASE IF EXISTS cryo_bench_health (FORCE)"' EXIT
export DATABASE_URL="$db_url" CRYOPROTECT_BACKUP_DIR="$(mktemp -d)"
"$bin" db bootstrap > /dev/null
"$bin" db migrate > /dev/null
echo "loading 100,000 molecules and 1,000,000 property rows..."
psql "$db_url" -q <<'SQL'
SET ROLE service_role;
SET request.jwt.claims = '{"role": "service_role"}';
INSERT INTO users (id, email, display_name) VALUES ('00000000-0000-0000-0000-0000000000b1', 'bench@lab.example', 'Bench');
INSERT INTO molecules (canonical_smiles, molecular_weight, created_by)
    SELECT 'C' || repeat('C', i % 40) || 'O' || i, 100 + i % 500, '00000000-0000-0000-0000-0000000000b1'
    FROM generate_series(1, 100000) i;
INSERT INTO molecular_properties (molecule_id, property_type_id, calculation_method_id, numeric_value)
    SELECT m.id, t.id, c.id, random() * 100
    FROM molecules m
    CROSS JOIN (SELECT id FROM property_types WHERE data_type = 'numeric' ORDER BY name LIMIT 10) t
    CROSS JOIN (SELECT id FROM calculation_methods ORDER BY name LIMIT 1) c;
RESET ROLE;
VACUUM ANALYZE;
SQL
psql "$db_url" -Atc "SELECT 'molecules: ' || count(*) FROM molecules" -c "SELECT 'property rows: ' || count(*) FROM molecular_properties" -c "SELECT 'database size: ' || pg_size_pretty(pg_database_size(current_database()))"
for i in $(seq "$runs"); do
  start=$(date +%s.%N)
  report=$("$bin" db health --json || true)
  end=$(date +%s.%N)
  printf 'run %d: health %s in %.0f ms (checks), %.0f ms (whole process incl. start-up and connect)\n' "$i" \
    "$(jq -r .status <<< "$report")" "$(jq -r .millis <<< "$report")" "$(echo "($end - $start) * 1000" | bc -l)"
done
echo "slowest checks of the last run:"
jq -r '.checks | sort_by(-.millis) | .[:4][] | "  \(.name): \(.millis | floor) ms (\(.status))"' <<< "$report"
start=$(date +%s.%N)
"$bin" db integrity check --json > /dev/null
end=$(date +%s.%N)
printf 'thorough integrity check (orphan anti-join behind every one of the 44 foreign keys): %.0f ms\n' \
  "$(echo "($end - $start) * 1000" | bc -l)"
