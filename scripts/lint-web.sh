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

# No import circles: a module never imports one that (through others) imports it back.
node --input-type=module - crates/cryo-server/web <<'JS' || status=1
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname, normalize, relative } from 'node:path';
const root = process.argv[2];
const files = [];
const walk = (d) => readdirSync(d, { withFileTypes: true }).forEach((e) =>
  e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.js') && files.push(join(d, e.name)));
walk(root);
const imports = new Map(files.map((f) => [f, [...readFileSync(f, 'utf8').matchAll(/^import[^'"]*['"](\.[^'"]+)['"]/gm)]
  .map((m) => normalize(join(dirname(f), m[1])))]));
const state = new Map();
const cycles = [];
const visit = (f, path) => {
  if (state.get(f) === 'done') return;
  if (state.get(f) === 'open') { cycles.push([...path.slice(path.indexOf(f)), f].map((x) => relative(root, x)).join(' → ')); return; }
  state.set(f, 'open');
  (imports.get(f) || []).forEach((g) => visit(g, [...path, f]));
  state.set(f, 'done');
};
files.forEach((f) => visit(f, []));
const edges = [...imports.values()].reduce((n, l) => n + l.length, 0);
if (edges === 0) { console.error('lint-web: no imports found (the scan is broken)'); process.exit(1); }
if (cycles.length) { console.error('lint-web: import circles:\n  ' + cycles.join('\n  ')); process.exit(1); }
console.log(`lint-web: ${files.length} modules, ${edges} imports, no circles`);
JS
exit $status
