#!/usr/bin/env bash
# An outside client's view of ingest: one CRM node (silo with its gateway, a Release build) on the embedded SQLite
# default or on a private PostgreSQL at default durability (fsync and synchronous_commit on), CUSTOMERS customers
# created over HTTP, then wrk (2 threads × 32 connections) posting one purchase per request (bench/wrk/ingest.lua).
# On PostgreSQL it also reports the WAL written per event (pg_current_wal_lsn before and 7 s after the run, so the
# snapshots that follow the events are counted).
# Usage: bench/wrk-ingest.sh sqlite|postgres [seconds] [customers] [silo dll, default this checkout's Release build]
#   PREFER=return=minimal bench/wrk-ingest.sh …   asks for acknowledgements without the view
source "$(dirname "$0")/lib/wrk.sh" "$@"
node_start wrk

say "creating $customers customers"
seq 0 $(( customers - 1 )) | xargs -P 8 -I{} curl -sf -o /dev/null -X PUT "http://127.0.0.1:$port/api/v1/customers/w{}" \
  -H "X-Api-Key: $key" -H 'content-type: application/json' -d '{"firstName":"W{}"}' || fail "creating customers failed"

[ -n "$pg_port" ] && lsn=$(psql "SELECT pg_current_wal_lsn()")
say "wrk: 2 threads, 32 connections, $seconds s${PREFER:+, Prefer: $PREFER}"
CUSTOMERS=$customers CRM_KEY=$key PREFER=${PREFER:-} wrk -t2 -c32 -d"${seconds}s" --latency -s "$root/bench/wrk/ingest.lua" "http://127.0.0.1:$port"
if [ -n "$pg_port" ]; then
  sleep 7
  events=$(psql "SELECT count(*) FROM crm_customer_events WHERE event_id LIKE 'wrk-%'")
  bytes=$(psql "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn')::bigint")
  echo "WAL: $bytes bytes for $events events: $(( bytes / (events > 0 ? events : 1) )) bytes per event"
fi
