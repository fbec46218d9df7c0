#!/usr/bin/env bash
# Server-side ranking at scale (#20): how PostgreSQL runs `GET /molecules/ranked` (through
# `cryoprotect molecules rank --explain`, the same use case) as a signed-in user under
# row-level security, on ROWS generated molecules with a score, a logP and (for half of them) a
# Tg prediction each: execution time of the page (first, and deep: 90 % down the ranking) and
# of the total count, with the ranking indexes (migration 20261207000009) and without them,
# in the same run. The plans are kept in $OUT (default target/bench-ranking).
# Uses the local server (CRYOPROTECT_TEST_ADMIN_URL, default postgres@127.0.0.1:5432) and a
# scratch database it drops.
# Usage: bench/ranking.sh [ROWS]   (default 100000; KEEP=1 keeps the database for a look)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-100000}
admin="${CRYOPROTECT_TEST_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db="cryo_bench_ranking"
url="${admin%/*}/$db"
out=${OUT:-target/bench-ranking}
mkdir -p "$out"
[[ -n ${KEEP:-} ]] || trap 'psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1' EXIT
# The times are PostgreSQL's (EXPLAIN ANALYZE), so any build of the CLI will do: BIN names one.
bin=${BIN:-target/release/cryoprotect}
[[ -n ${BIN:-} ]] || cargo build --release --locked -q -p cryo-cli
indexes=20261207000009
alice=00000000-0000-4000-8000-00000000000a
bob=00000000-0000-4000-8000-00000000000b

psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
DATABASE_URL="$url" "$bin" db bootstrap --api-password bench-only >/dev/null
DATABASE_URL="$url" CRYOPROTECT_LOG=warn "$bin" db migrate --no-backup >/dev/null
echo "generating $rows molecules with properties and predictions..." >&2
# Alice owns 80 %, Bob 20 %; a score and a logP per molecule, a Tg prediction for every other.
psql "$url" -X -q <<SQL
SET session_replication_role = replica;
INSERT INTO users (id, email, display_name) VALUES
  ('$alice', 'alice@bench.test', 'Alice'), ('$bob', 'bob@bench.test', 'Bob');
INSERT INTO calculation_methods (name, version, description) VALUES ('bench', '1', 'generated');
INSERT INTO molecules (name, canonical_smiles, is_reference, created_by, molecular_weight, created_at)
SELECT 'molecule ' || md5(g::text), 'C' || g, false,
       CASE WHEN g % 10 < 8 THEN '$alice'::uuid ELSE '$bob'::uuid END,
       50 + (g * 7919 % 45000) / 100.0, now() - g * interval '1 second'
FROM generate_series(1, $rows) g;
INSERT INTO molecular_properties (molecule_id, property_type_id, calculation_method_id, numeric_value)
SELECT m.id, t.id, c.id, CASE t.name WHEN 'LogP' THEN (hashtext(m.name) % 800) / 100.0
                                     ELSE abs(hashtext(m.name || 's')) % 10000 / 100.0 END
FROM molecules m, property_types t, calculation_methods c
WHERE t.name IN ('Cryoprotection Score', 'LogP') AND c.name = 'bench';
INSERT INTO predictions (molecule_id, property_type_id, calculation_method_id, numeric_value,
                         interval_lower, interval_upper, interval_level, created_by, domain_flag)
SELECT m.id, t.id, c.id, v, v - w, v + w, 0.9, m.created_by, 'in'
FROM (SELECT id, created_by, -150 + abs(hashtext(name || 'p')) % 10000 / 100.0 AS v,
             1 + abs(hashtext(name || 'w')) % 1000 / 100.0 AS w
      FROM molecules WHERE NOT is_reference AND hashtext(name) % 2 = 0) m,
     property_types t, calculation_methods c
WHERE t.name = 'Glass Transition Temperature' AND c.name = 'bench';
ANALYZE;
SQL

# A cursor 90 % down the score ranking as alice sees it (score desc, id desc).
deep=$(psql "$url" -X -Atq -c "
  SELECT json_build_object('sort', 'score', 'order', 'desc',
                           'at', json_build_object('value', json_build_object('number', v), 'id', id))
  FROM (SELECT p.numeric_value AS v, m.id FROM molecules m
        JOIN molecular_properties p ON p.molecule_id = m.id
        JOIN property_types t ON t.id = p.property_type_id AND t.name = 'Cryoprotection Score'
        WHERE m.created_by = '$alice' OR m.is_reference
        ORDER BY p.numeric_value DESC, m.id DESC OFFSET (SELECT count(*) * 9 / 10 FROM molecules
                                                        WHERE created_by = '$alice') LIMIT 1) x" | tr -d '\n' | xxd -p | tr -d '\n')

queries=(
  "name|sort=name&limit=50"
  "score|sort=score&limit=50"
  "score, deep page|sort=score&limit=50&cursor=$deep"
  "score, logP ≥ 2|sort=score&min_logp=2&limit=50"
  "name fragment|sort=name&q=f3a&limit=50"
  "weight, own|sort=molecular_weight&order=asc&owner=me&limit=50"
  "predicted Tg|sort=predicted&predicted=Glass Transition Temperature&limit=50"
  "interval width|sort=interval_width&order=asc&predicted=Glass Transition Temperature&limit=50"
)

# "page ms count ms" of the median of 5 runs, plans kept.
measure() {
  local label=$1 name=$2 query=$3 file
  file="$out/$label-${name//[^a-zA-Z]/_}.txt"
  local pages=() counts=()
  for _ in 1 2 3 4 5; do
    DATABASE_URL="$url" CRYOPROTECT_LOG=error "$bin" molecules rank --as alice@bench.test --explain --query "$query" >"$file"
    mapfile -t t < <(awk '/Execution Time/ { print $3 }' "$file")
    pages+=("${t[0]}") counts+=("${t[1]}")
  done
  printf '%s %s\n' "$(printf '%s\n' "${pages[@]}" | sort -n | sed -n 3p)" "$(printf '%s\n' "${counts[@]}" | sort -n | sed -n 3p)"
}

declare -A with_idx
for q in "${queries[@]}"; do
  with_idx[${q%%|*}]=$(measure indexed "${q%%|*}" "${q#*|}")
done
DATABASE_URL="$url" CRYOPROTECT_LOG=warn "$bin" db rollback --to $((indexes - 1)) >/dev/null
psql "$url" -X -qc ANALYZE
printf '%d molecules, as alice (80 %% hers), median of 5, ms (EXPLAIN ANALYZE execution time)\n' "$rows"
printf '%-18s %12s %12s %9s   %12s %12s\n' query "page idx" "page no-idx" ratio "count idx" "count no-idx"
for q in "${queries[@]}"; do
  name=${q%%|*}
  read -r p c <<<"${with_idx[$name]}"
  read -r p0 c0 <<<"$(measure no-index "$name" "${q#*|}")"
  printf '%-18s %12.2f %12.2f %8.1fx   %12.2f %12.2f\n' "$name" "$p" "$p0" "$(echo "$p0 / $p" | bc -l)" "$c" "$c0"
done
echo "plans: $out"
