#!/usr/bin/env bash
# Backup and restore throughput on a generated database of about SIZE_MB megabytes, side by side
# with plain `pg_dump -Fc` and `pg_restore` on the same data. Uses the local server
# (CRYOPROTECT_TEST_ADMIN_URL, default postgres@127.0.0.1:5432) and a scratch database it drops.
# Usage: bench/backup.sh [SIZE_MB]   (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb="${1:-1000}"
admin="${CRYOPROTECT_TEST_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db="cryo_bench_backup"
url="${admin%/*}/$db"
work=$(mktemp -d)
trap 'rm -rf "$work"; psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1; psql "$admin" -qc "DROP DATABASE IF EXISTS ${db}_plain WITH (FORCE)" >/dev/null 2>&1' EXIT
cargo build --release --locked -q -p cryo-cli
bin=target/release/cryoprotect

psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
DATABASE_URL="$url" "$bin" db bootstrap --api-password bench-only >/dev/null
DATABASE_URL="$url" CRYOPROTECT_LOG=warn "$bin" db migrate >/dev/null
# ~1 kB per molecule row (fingerprint, SMILES, name) plus its properties.
rows=$((size_mb * 1000 / 1))
echo "generating about ${size_mb} MB ($rows molecules)..." >&2
psql "$url" -q <<SQL
SET session_replication_role = replica;
INSERT INTO molecules (name, canonical_smiles, is_reference, morgan_fp, inchi)
SELECT 'bench molecule ' || g, 'C' || g || repeat('CO', 100 + g % 50), true,
       decode(repeat(md5(g::text), 16), 'hex'), 'InChI=1S/' || md5(g::text) || repeat('x', 200)
FROM generate_series(1, $rows) g;
SQL
actual=$(psql "$url" -Atc "SELECT pg_database_size(current_database())")
mb=$(echo "$actual / 1000000" | bc -l)

t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
export CRYOPROTECT_BACKUP_DIR="$work/backups" CRYOPROTECT_LOG=warn
ours_dump=$(DATABASE_URL="$url" t "$bin" backup create)
id=$(DATABASE_URL="$url" "$bin" backup list --json | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['id'])")
ours_verify=$(DATABASE_URL="$url" t "$bin" backup verify "$id")
plain_dump=$(PGPASSWORD= t pg_dump -Fc -f "$work/plain.dump" "$url")
psql "$admin" -qc "CREATE DATABASE ${db}_plain"
plain_restore=$(t pg_restore -d "${admin%/*}/${db}_plain" "$work/plain.dump")
ours_size=$(du -b "$work"/backups/*.zst | cut -f1)
plain_size=$(du -b "$work/plain.dump" | cut -f1)

printf 'database: %.0f MB\n' "$mb"
printf 'backup create:      %6.2f s  %7.1f MB/s  (%d MB on disk, zstd)\n' "$ours_dump" "$(echo "$mb / $ours_dump" | bc -l)" $((ours_size / 1000000))
printf 'pg_dump -Fc:        %6.2f s  %7.1f MB/s  (%d MB on disk, gzip)\n' "$plain_dump" "$(echo "$mb / $plain_dump" | bc -l)" $((plain_size / 1000000))
printf 'backup verify:      %6.2f s  (checksum + full restore + row counts)\n' "$ours_verify"
printf 'pg_restore:         %6.2f s\n' "$plain_restore"
printf 'create / pg_dump:   %.2fx   (goal <= 1.0)\n' "$(echo "$ours_dump / $plain_dump" | bc -l)"
printf '(create+verify) / (pg_dump+pg_restore): %.2fx   (goal <= 1.2)\n' "$(echo "($ours_dump + $ours_verify) / ($plain_dump + $plain_restore)" | bc -l)"
