#!/usr/bin/env bash
# Copy a release binary to a host and run the blue/green deploy there (used by the deploy
# workflow). SSH_KEY holds a private key for the `deploy` account; the host has
# deploy/host/*.sh under /srv/cryoprotect/bin and nginx configured with deploy/host/nginx-site.conf.
#   remote-deploy.sh HOST RELEASE BINARY
set -euo pipefail
[[ $# -eq 3 ]] || { echo "usage: remote-deploy.sh HOST RELEASE BINARY" >&2; exit 2; }
host=$1 release=$2 binary=$3
key=$(mktemp)
trap 'rm -f "$key"' EXIT
printf '%s\n' "$SSH_KEY" > "$key"
chmod 600 "$key"
ssh_opts=(-i "$key" -o StrictHostKeyChecking=accept-new)
scp "${ssh_opts[@]}" "$binary" "deploy@$host:/tmp/cryoprotect-$release"
scp "${ssh_opts[@]}" deploy/host/deploy.sh deploy/host/rollback.sh deploy/host/common.sh "deploy@$host:/srv/cryoprotect/bin/"
ssh "${ssh_opts[@]}" "deploy@$host" "/srv/cryoprotect/bin/deploy.sh '$release' '/tmp/cryoprotect-$release'"
