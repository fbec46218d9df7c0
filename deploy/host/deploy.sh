#!/usr/bin/env bash
# Blue/green deployment of CryoProtect on one Linux host, behind nginx, without containers.
#
#   deploy.sh NAME BINARY      deploy release NAME (BINARY is copied into releases/NAME)
#
# Steps, each logged with a timestamp; any failure exits non-zero:
#   1. copy the binary into $CRYO_HOME/releases/NAME (an optional releases/NAME/release.env adds
#      settings for that release only);
#   2. take a backup (`backup create --label pre-deploy-NAME`);
#   3. run migrations with the NEW binary before anything is switched (expand-only by policy, so
#      the running colour keeps working); a failure aborts with nothing switched;
#   4. start the idle colour (blue 8081 / green 8082 by default) with the new binary;
#   5. gate: /health/ready must answer 200 within READY_TIMEOUT seconds, then a smoke test
#      (liveness names this release, the OpenAPI document, a molecule score); a failure stops the
#      new colour and leaves the old one serving;
#   6. switch nginx's upstream to the new colour and reload nginx (graceful: in-flight requests
#      finish on the old workers);
#   7. drain: wait DRAIN_SECS, then SIGTERM the old colour (it finishes in-flight requests within
#      server.shutdown_grace_secs) and wait for it to exit;
#   8. record the active and previous releases (rollback.sh returns to the previous one).
#
# Environment: CRYO_HOME (default /srv/cryoprotect) holding `env` (shared settings:
# DATABASE_URL, DATABASE_API_URL, CRYOPROTECT_ENV, secrets as *_FILE, ...); NGINX_UPSTREAM (the
# file nginx includes, default $CRYO_HOME/nginx/upstream.conf); NGINX_TEST and NGINX_RELOAD
# (commands, default `nginx -t` and `nginx -s reload`); BLUE_PORT, GREEN_PORT, READY_TIMEOUT
# (60), DRAIN_SECS (5); SKIP_MIGRATIONS=1 (rollback.sh sets it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=deploy/host/common.sh
source "$here/common.sh"

[[ $# -eq 2 ]] || { echo "usage: deploy.sh NAME BINARY" >&2; exit 2; }
name=$1
binary=$2
[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die "release name must be letters, digits, . _ -"
[[ -x $binary ]] || die "$binary is not an executable"
mkdir -p "$CRYO_HOME"/{releases,state,run,logs} "$(dirname "$NGINX_UPSTREAM")"
[[ -f $CRYO_HOME/env ]] || die "$CRYO_HOME/env is missing (the shared settings)"

active=$(cat "$CRYO_HOME/state/active" 2>/dev/null || echo none)
idle=$(other_colour "$active")
idle_port=$(port_of "$idle")
log "deploying $name: active colour $active, new colour $idle on port $idle_port"

step "1/8 install release $name"
release="$CRYO_HOME/releases/$name"
mkdir -p "$release"
if [[ "$(realpath "$binary")" != "$(realpath -m "$release/cryoprotect")" ]]; then
  install -m 0755 "$binary" "$release/cryoprotect.new"
  mv "$release/cryoprotect.new" "$release/cryoprotect"
fi
bin="$release/cryoprotect"

if [[ ${SKIP_MIGRATIONS:-0} == 1 ]]; then
  step "2/8 backup: skipped (rollback)"
  step "3/8 migrations: skipped (rollback keeps the expanded schema)"
else
  step "2/8 backup"
  # `db status` exits 1 while migrations are pending; its JSON is what matters here.
  status_json=$(run_with_env "$release" "$bin" db status --json || true)
  applied=$(jq '[.migrations[] | select(.state == "applied")] | length' <<<"$status_json") \
    || die "cannot read the database's migration status; nothing changed"
  if [[ $applied == 0 ]]; then
    log "fresh database (no migration applied): nothing to back up"
  else
    run_with_env "$release" "$bin" backup create --label "pre-deploy-$name" || die "backup failed; nothing changed"
  fi
  step "3/8 migrations (before anything is switched)"
  run_with_env "$release" "$bin" db migrate || die "migrations failed; nothing switched, $active keeps serving"
fi

step "4/8 start $idle with $name"
stop_colour "$idle" # a leftover from an earlier failed attempt
start_colour "$idle" "$release" "$name"

step "5/8 gate: readiness and smoke test"
if ! wait_ready "$idle_port" "$READY_TIMEOUT" || ! smoke_test "$idle_port" "$name"; then
  log "new colour failed its gate; its log:"
  tail -n 20 "$CRYO_HOME/logs/$idle.log" >&2 || true
  stop_colour "$idle"
  die "release $name refused; $active keeps serving"
fi

step "6/8 switch nginx to $idle"
previous_upstream=$(cat "$NGINX_UPSTREAM" 2>/dev/null || true)
write_upstream "$idle_port"
if ! $NGINX_TEST >/dev/null 2>&1 || ! $NGINX_RELOAD; then
  printf '%s\n' "$previous_upstream" > "$NGINX_UPSTREAM"
  stop_colour "$idle"
  die "nginx refused the new upstream; restored, $active keeps serving"
fi

step "7/8 drain and stop $active"
if [[ $active != none ]]; then
  sleep "$DRAIN_SECS"
  stop_colour "$active"
fi

step "8/8 record"
old_release=$(cat "$CRYO_HOME/state/active_release" 2>/dev/null || true)
echo "$idle" > "$CRYO_HOME/state/active"
echo "$name" > "$CRYO_HOME/state/active_release"
[[ -n $old_release && $old_release != "$name" ]] && echo "$old_release" > "$CRYO_HOME/state/previous_release"
log "deployed $name on $idle"
