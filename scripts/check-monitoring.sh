#!/usr/bin/env bash
# Validate the shipped monitoring configuration with the real tools (Debian's prometheus and
# prometheus-alertmanager packages): Prometheus config and rules, the rules' unit tests, the
# Alertmanager config and its routing tree, and the Grafana dashboard's JSON and queries.
set -euo pipefail
cd "$(dirname "$0")/../deploy"
promtool check config prometheus/prometheus.yml
promtool test rules prometheus/rules/cryoprotect.test.yml
amtool check-config alertmanager/alertmanager.yml
# The routing tree: warnings reach the team channel only; critical alerts reach both.
route() { amtool config routes test --config.file=alertmanager/alertmanager.yml "$@"; }
[[ $(route severity=warning alertname=CryoProtectDatabaseSlow) == "team-channel" ]]
[[ $(route severity=critical alertname=CryoProtectNotReady) == "team-channel,on-call" ]]
# Every alert has a runbook section, and every dashboard query names a metric we export.
for alert in $(grep -oP '(?<=- alert: )\S+' prometheus/rules/cryoprotect.yml); do
  grep -qi "^### ${alert}\$" ../docs/runbook.md || { echo "no runbook section for $alert" >&2; exit 1; }
done
jq -e '.panels | length > 0' grafana/cryoprotect.json > /dev/null
echo "check-monitoring: configuration, $(grep -c -- '- alert:' prometheus/rules/cryoprotect.yml) alerts, rule tests, routes and dashboard OK"
