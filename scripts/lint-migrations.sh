#!/usr/bin/env bash
# Lint migrations for locking hazards with squawk (pinned; its wheel on PyPI carries the binary,
# unpacked into target/tools so nothing is installed system-wide).
#
# Configuration, with the reason for each exemption:
# - --assume-in-transaction: sqlx runs every migration in one transaction, so a migration that
#   fails part-way leaves nothing behind (this retires prefer-robust-stmts' concern).
# - --pg-version 15: what we support and test on.
# - Only up scripts: down scripts remove what their up script made by design; whether that loses
#   data is declared by the `-- cryoprotect: data-loss` marker and enforced by `db rollback`.
# - The baseline (20261129000001–05) is exempt: it landed before the linter, it creates its tables
#   empty inside one transaction (so index builds and constraints cannot block anyone), and
#   migrations are append-only, so it cannot be edited. Every later migration is linted in full.
set -euo pipefail
cd "$(dirname "$0")/.."
version=2.70.0
source scripts/wheel-tool.sh
bin=$(wheel_tool squawk-cli "$version" squawk)
baseline='20261129000001|20261129000002|20261129000003|20261129000004|20261129000005'
mapfile -t files < <(ls crates/cryo-db/migrations/*.up.sql | grep -Ev "/($baseline)_")
if ((${#files[@]} == 0)); then
  echo "lint-migrations: nothing after the baseline"
  exit 0
fi
NO_COLOR=1 "$bin" --assume-in-transaction --pg-version 15 "${files[@]}"
echo "lint-migrations: ${#files[@]} migration(s) clean"
