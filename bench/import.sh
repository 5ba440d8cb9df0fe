#!/usr/bin/env bash
# Import through the gateway, as a new user tries it: one CRM node (silo with its gateway, a Release build) on the
# embedded SQLite default or on a private PostgreSQL at default durability (fsync and synchronous_commit on). A
# generated customers CSV (ROWS customers, each with a name, an e-mail and a phone, so every row also claims three
# index entries) is posted to /api/v1/imports/customers, then a transactions CSV (ROWS purchases, spread over the same
# customers, sorted by customer as exports usually are) to /api/v1/imports/transactions. The import's own progress
# (GET /api/v1/imports/{id}) is printed every 2 s while it runs; each step prints rows/s at the end.
# Usage: bench/import.sh sqlite|postgres [rows] [silo dll, default this checkout's Release build]
#   SEGMENT=1 bench/import.sh …   defines a segment first (region = "r1"), so every row goes through its customer's
#   grain, as imports do while a segment is defined; without it, new customers take the bulk path (docs/architecture.md)
#   STATEMENTS=1 bench/import.sh postgres …   also prints, per step, the statements that took PostgreSQL the most time, per row
#   (pg_stat_statements), to see what a row costs the database
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
kind=${1:-sqlite}
rows=${2:-20000}
silo_dll=${3:-$root/silo/bin/Release/net10.0/OrleansCrm.Silo.dll}
say() { echo "[import] $*" >&2; }
fail() { say "$*"; exit 1; }
source "$root/bench/lib/node.sh"
[ "${STATEMENTS:-}" = 1 ] && pg_options="-c shared_preload_libraries=pg_stat_statements"
node_start imp

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
    echo "$1: statements per row (calls and execution time ÷ $rows), the costliest first:"
    psql "SELECT round(calls::numeric / $rows, 2) || ' calls, ' || round((total_exec_time * 1000 / $rows)::numeric, 1) || ' µs  ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 140) FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT ${TOP:-15}"
    psql "SELECT round(sum(calls)::numeric / $rows, 2) || ' calls, ' || round((sum(total_exec_time) * 1000 / $rows)::numeric, 1) || ' µs  by kind: ' || kind FROM (SELECT calls, total_exec_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 40) AS kind FROM pg_stat_statements) k GROUP BY kind ORDER BY sum(total_exec_time) DESC LIMIT 8"
    psql "SELECT 'in all: ' || round(sum(calls)::numeric / $rows, 2) || ' statements, ' || round((sum(total_exec_time) * 1000 / $rows)::numeric, 1) || ' µs of execution per row' FROM pg_stat_statements"
    psql "SELECT pg_stat_statements_reset()" >/dev/null
  fi
  echo "$1: $rows rows in $(echo "$end - $start" | bc) s: $(echo "$rows / ($end - $start)" | bc) rows/s — $(tr -d '\n' < "$work/$1.json" | cut -c1-200)"
}
if [ "${SEGMENT:-}" = 1 ]; then
  curl -sf -o /dev/null -X PUT "http://127.0.0.1:$port/api/v1/segments/bench-r1" -H "X-Api-Key: $key" -H 'content-type: application/json' \
    --data '{"name":"bench r1","expression":"region = \"r1\""}' || fail "the segment could not be defined"
  say "segment bench-r1 defined (region = \"r1\"): imports go through the customers' grains"
fi
say "$kind: importing $rows customers, then $rows transactions"
[ "${STATEMENTS:-}" = 1 ] && [ -n "$pg_port" ] && { psql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null; psql "SELECT pg_stat_statements_reset()" >/dev/null; }
run customers "$work/customers.csv"
run transactions "$work/transactions.csv"
if [ "${SEGMENT:-}" = 1 ]; then
  expected=$(( (rows + 6) / 8 ))
  for _ in $(seq 1 120); do
    members=$(curl -sf "http://127.0.0.1:$port/api/v1/segments/bench-r1" -H "X-Api-Key: $key" | sed -n 's/.*"members":\([0-9]*\).*/\1/p')
    [ "$members" = "$expected" ] && break
    sleep 1
  done
  echo "segment bench-r1: $members members (expected $expected)"
fi
