# Shared by deploy.sh and rollback.sh.
CRYO_HOME=${CRYO_HOME:-/srv/cryoprotect}
NGINX_UPSTREAM=${NGINX_UPSTREAM:-$CRYO_HOME/nginx/upstream.conf}
NGINX_TEST=${NGINX_TEST:-nginx -t}
NGINX_RELOAD=${NGINX_RELOAD:-nginx -s reload}
BLUE_PORT=${BLUE_PORT:-8081}
GREEN_PORT=${GREEN_PORT:-8082}
READY_TIMEOUT=${READY_TIMEOUT:-60}
DRAIN_SECS=${DRAIN_SECS:-5}

log() { printf '%s deploy: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" | tee -a "$CRYO_HOME/deploy.log" >&2; }
step() { log "step $*"; }
die() { log "FAILED: $*"; exit 1; }

other_colour() { if [[ $1 == blue ]]; then echo green; else echo blue; fi; }
port_of() { if [[ $1 == blue ]]; then echo "$BLUE_PORT"; else echo "$GREEN_PORT"; fi; }

# Run a command with the shared settings plus the release's own.
run_with_env() {
  local release=$1
  shift
  (
    set -a
    # shellcheck source=/dev/null
    source "$CRYO_HOME/env"
    # shellcheck source=/dev/null
    [[ -f $release/release.env ]] && source "$release/release.env"
    set +a
    "$@"
  )
}

start_colour() {
  local colour=$1 release=$2 name=$3 port
  port=$(port_of "$colour")
  # Migrations are the deploy's explicit step, never a side effect of starting.
  CRYOPROTECT_RELEASE="$name" CRYOPROTECT_AUTO_MIGRATE=false \
    run_with_env "$release" setsid "$release/cryoprotect" serve --port "$port" \
    >> "$CRYO_HOME/logs/$colour.log" 2>&1 < /dev/null &
  echo $! > "$CRYO_HOME/run/$colour.pid"
  log "$colour started (pid $!, port $port)"
}

stop_colour() {
  local colour=$1 pid
  pid=$(cat "$CRYO_HOME/run/$colour.pid" 2>/dev/null) || return 0
  rm -f "$CRYO_HOME/run/$colour.pid"
  kill -0 "$pid" 2>/dev/null || return 0
  log "stopping $colour (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || { log "$colour stopped"; return 0; }
    sleep 0.1
  done
  log "$colour did not stop in 30 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

wait_ready() {
  local port=$1 timeout=$2 start
  start=$(date +%s)
  while (( $(date +%s) - start < timeout )); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready") == 200 ]] && return 0
    sleep 0.25
  done
  log "not ready on port $port after $timeout s"
  return 1
}

smoke_test() {
  local port=$1 name=$2 base="http://127.0.0.1:$1"
  curl -sf "$base/health/live" | grep -q "\"release\":\"$name\"" || { log "smoke: /health/live does not name $name"; return 1; }
  curl -sf -o /dev/null "$base/api/openapi.json" || { log "smoke: no OpenAPI document"; return 1; }
  curl -sf -H 'content-type: application/json' -d '{"smiles":"OCC(O)CO"}' "$base/api/v1/scoring/molecule" \
    | grep -q '"overall"' || { log "smoke: glycerol could not be scored"; return 1; }
  log "smoke test passed on port $port"
}

write_upstream() {
  local port=$1
  printf 'upstream cryoprotect {\n    server 127.0.0.1:%s;\n    keepalive 16;\n}\n' "$port" > "$NGINX_UPSTREAM.tmp"
  mv "$NGINX_UPSTREAM.tmp" "$NGINX_UPSTREAM"
}
