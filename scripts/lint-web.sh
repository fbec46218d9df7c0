#!/usr/bin/env bash
# Syntax-check the web interface's modules (ES modules, no build step): a typo would otherwise
# only show in a browser.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
count=0
for f in crates/cryo-server/web/*.js crates/cryo-server/web/pages/*.js tests/browser/*.mjs; do
  count=$((count + 1))
  node --input-type=module --check <"$f" 2>/tmp/lint-web.$$ || { echo "lint-web: $f" >&2; cat /tmp/lint-web.$$ >&2; status=1; }
done
rm -f /tmp/lint-web.$$
echo "lint-web: $count modules checked"
exit $status
