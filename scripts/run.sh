#!/usr/bin/env bash
# Set up, build and run the CryoProtect server. With no DATABASE_URL it runs its own PostgreSQL
# in ./var. Extra arguments go to `cryoprotect serve` (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked -p cryo-cli
exec target/release/cryoprotect serve "$@"
