#!/usr/bin/env bash
# Import through the gateway, as a new user tries it: one CRM node (silo with its gateway, a Release build) on the
# embedded SQLite default or on a private PostgreSQL at default durability (fsync and synchronous_commit on). A
# generated customers CSV (ROWS customers, each with a name, an e-mail and a phone, so every row also claims three
# index entries) is posted to /api/v1/imports/customers, then a transactions CSV (ROWS purchases, spread over the same
# customers, sorted by customer as exports usually are) to /api/v1/imports/transactions. The import's own progress
# (GET /api/v1/imports/{id}) is printed every 2 s while it runs; each step prints rows/s at the end.
# Usage: bench/import.sh sqlite|postgres [rows] [silo dll, default this checkout's Release build]
#   STATEMENTS=1 bench/import.sh postgres …   also prints, per step, the statements PostgreSQL ran most often per row
#   (pg_stat_statements), to see what a row costs the database
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
kind=${1:-sqlite}
rows=${2:-20000}
silo_dll=${3:-$root/silo/bin/Release/net10.0/OrleansCrm.Silo.dll}
say() { echo "[import] $*" >&2; }
fail() { say "$*"; exit 1; }
[ -f "$silo_dll" ] || fail "$silo_dll not found: dotnet build -c Release silo"

work=$(mktemp -d /tmp/orleanscrm-import.XXXXXX)
port=$(( 20000 + RANDOM % 20000 ))
key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
pid=""
pg_port=""
stop() {
  trap - EXIT INT TERM
  [ -n "$pid" ] && { kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
  [ -n "$pg_port" ] && pg_stop
  rm -rf "$work"
}
trap stop EXIT INT TERM

export CRM_CLUSTERID=imp-$port CRM_GATEWAY__ADMINKEY=$key CRM_GATEWAY__REQUESTSPERMINUTE=10000000
export CRM_SILO__SILOPORT=$(( port + 1 )) CRM_SILO__GATEWAYPORT=$(( port + 2 )) CRM_LOG__LEVEL=Warning
if [ "$kind" = postgres ]; then
  source "$root/scripts/postgres.sh"
  pg_install
  if [ "${STATEMENTS:-}" = 1 ]; then pg_start "-c shared_preload_libraries=pg_stat_statements"; else pg_start ""; fi
  psql() { "$pg_bin_dir/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d orleanscrm -Atc "$1"; }
  export CRM_STORAGE__KIND=postgres CRM_STORAGE__CONNECTIONSTRING="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=orleanscrm"
else
  export CRM_STORAGE__KIND=sqlite CRM_STORAGE__CONNECTIONSTRING="Data Source=$work/crm.db"
fi

(cd "$work" && exec dotnet "$silo_dll" --config "$root/cluster.json" --gateway:urls="http://127.0.0.1:$port") >"$work/silo.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break; sleep 1; done
curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null || { tail -20 "$work/silo.log" >&2; fail "the CRM did not become ready"; }

awk -v n="$rows" 'BEGIN { print "customerId,firstName,lastName,email,phone,region";
  for (i = 0; i < n; i++) printf "c%07d,First%d,Last%d,person%d@example.com,+4420%08d,r%d\n", i, i % 5000, i % 7919, i, i, i % 8 }' > "$work/customers.csv"
awk -v n="$rows" 'BEGIN { print "customerId,eventId,amount,occurredAt";
  for (i = 0; i < n; i++) { c = int(i / 2) % n; printf "c%07d,t%d,%d.50,2026-11-%02dT10:00:00Z\n", c, i, 10 + i % 90, 1 + i % 28 } }' > "$work/transactions.csv"

run() { # kind file
  local id="bench-$1-$port"
  (while sleep 2; do p=$(curl -sf "http://127.0.0.1:$port/api/v1/imports/$id" -H "X-Api-Key: $key") && say "  progress: $(echo "$p" | tr -d '\n' | cut -c1-160)"; done) &
  local watcher=$!
  local start end
  start=$(date +%s.%N)
  curl -sf -o "$work/$1.json" -X POST "http://127.0.0.1:$port/api/v1/imports/$1?importId=$id" \
    -H "X-Api-Key: $key" -H 'content-type: text/csv' --data-binary @"$2" || { kill $watcher; fail "import of $1 failed"; }
  end=$(date +%s.%N)
  kill $watcher 2>/dev/null; wait $watcher 2>/dev/null
  if [ "${STATEMENTS:-}" = 1 ] && [ -n "$pg_port" ]; then
    echo "$1: statements per row (calls ÷ $rows), the most frequent first:"
    psql "SELECT round(calls::numeric / $rows, 2) || '  ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 150) FROM pg_stat_statements ORDER BY calls DESC LIMIT 15"
    psql "SELECT pg_stat_statements_reset()" >/dev/null
  fi
  echo "$1: $rows rows in $(echo "$end - $start" | bc) s: $(echo "$rows / ($end - $start)" | bc) rows/s — $(tr -d '\n' < "$work/$1.json" | cut -c1-200)"
}
say "$kind: importing $rows customers, then $rows transactions"
[ "${STATEMENTS:-}" = 1 ] && [ -n "$pg_port" ] && { psql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null; psql "SELECT pg_stat_statements_reset()" >/dev/null; }
run customers "$work/customers.csv"
run transactions "$work/transactions.csv"
