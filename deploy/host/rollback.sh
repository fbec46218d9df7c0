#!/usr/bin/env bash
# Return to the previous release in one command: a blue/green deploy of it (same gate, same
# switch), without migrations (expand-only migrations leave a schema the previous release runs
# on) and without a new backup.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=deploy/host/common.sh
source "$here/common.sh"
previous=$(cat "$CRYO_HOME/state/previous_release" 2>/dev/null) || die "no previous release recorded"
log "rolling back to $previous"
SKIP_MIGRATIONS=1 "$here/deploy.sh" "$previous" "$CRYO_HOME/releases/$previous/cryoprotect"
