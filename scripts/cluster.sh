#!/usr/bin/env bash
# Tries a cluster on this machine: a private PostgreSQL, N silos (3 by default) and one gateway, from a Release build,
# exactly as an operator starts them (one process per role, `cluster.json` plus CRM_ variables and switches).
# Prints the gateway's address and an administrator key made for this run; Ctrl+C stops every process and the
# database (its folder is deleted: nothing is kept).
# Usage: scripts/cluster.sh [silos]    (GATEWAY_URL=http://127.0.0.1:5080 by default)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
silos=${1:-3}
gateway_url=${GATEWAY_URL:-http://127.0.0.1:5080}

say() { echo "[cluster] $*" >&2; }
fail() { say "$*"; exit 1; }
[[ "$silos" =~ ^[1-9][0-9]?$ ]] || fail "silos: a number from 1 to 99, got \"$silos\""
command -v dotnet >/dev/null || fail "the .NET SDK (dotnet) is needed"

source "$root/scripts/postgres.sh"
pg_install
say "building (Release)"
dotnet build OrleansCrm.sln -c Release -nologo -v quiet >&2 || fail "build failed"

logs=$(mktemp -d /tmp/orleanscrm-cluster.XXXXXX)
pids=()
stop() {
  trap - EXIT INT TERM
  say "stopping"
  [ ${#pids[@]} -gt 0 ] && { kill -TERM "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null; }
  pg_stop
  say "stopped; logs were in $logs"
}
trap stop EXIT INT TERM

pg_start
admin_key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export CRM_CLUSTERID=local-cluster
export CRM_STORAGE__KIND=postgres
export CRM_STORAGE__CONNECTIONSTRING="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=orleanscrm"
export CRM_GATEWAY__ADMINKEY=$admin_key
silo_dll=$root/silo/bin/Release/net10.0/OrleansCrm.Silo.dll
gateway_dll=$root/gateway/bin/Release/net10.0/OrleansCrm.Gateway.dll

# The schema once, before the silos (each would also apply it safely).
dotnet "$silo_dll" migrate --config "$root/cluster.json" >&2 || fail "migrate failed"
for i in $(seq 1 "$silos"); do
  dotnet "$silo_dll" --config "$root/cluster.json" --silo:siloPort=$((11110 + i)) --silo:gatewayPort=$((30000 + i)) \
    --silo:hostGateway=false --silo:metricsPort=$((9463 + i)) >"$logs/silo$i.log" 2>&1 &
  pids+=($!)
done
dotnet "$gateway_dll" --config "$root/cluster.json" --gateway:urls="$gateway_url" >"$logs/gateway.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 120); do
  curl -sf "$gateway_url/health/ready" >/dev/null 2>&1 && break
  sleep 1
done
curl -sf "$gateway_url/health/ready" >/dev/null 2>&1 || fail "the gateway did not become ready; see $logs"

cat >&2 <<INFO
[cluster] ready: PostgreSQL on 127.0.0.1:$pg_port, $silos silos (ports 11111.., gateways 30001..), gateway $gateway_url
[cluster] database: $CRM_STORAGE__CONNECTIONSTRING (cluster id $CRM_CLUSTERID)
[cluster] administrator key for this run: $admin_key
[cluster]   curl -H "X-Api-Key: $admin_key" -X POST $gateway_url/api/v1/users -H 'content-type: application/json' \\
[cluster]        -d '{"login":"ada","password":"a long password","roles":["agent"],"orgUnit":""}'
[cluster]   then sign in at $gateway_url/ ; dashboard $gateway_url/dashboard/ ; metrics $gateway_url/metrics
[cluster]   each silo's own metrics: http://127.0.0.1:9464/metrics (silo 1), 9465 (silo 2), ...
[cluster] logs: $logs ; Ctrl+C stops everything
INFO
wait "${pids[@]}"
