#!/usr/bin/env bash
# An outside client's view of the read path: one CRM node (silo with its gateway, a Release build) on the embedded
# SQLite default or a private PostgreSQL, CUSTOMERS customers created over HTTP with a profile and three purchases
# each, then wrk (2 threads × 32 connections) three times: GET /health/live (no credentials, the bare ceiling),
# GET /api/v1/auth/me (the authenticated ceiling: the same gateway stack as a view, without a grain call) and
# GET /api/v1/customers/{id} (the customer view) on a random customer per request (bench/wrk/view.lua), then the
# same with ?fields=firstName,lastName,segments (a screen's compact read).
# Usage: bench/wrk-view.sh sqlite|postgres [seconds] [customers] [silo dll, default this checkout's Release build]
#   PERF=file.data bench/wrk-view.sh …   also records a perf profile of the whole machine during the view run
source "$(dirname "$0")/lib/wrk.sh" "$@"
[ -n "${PERF:-}" ] && export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
node_start wrkview
say "creating $customers customers with three purchases each"
when=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
# One curl process per phase, 16 transfers at a time over kept-alive connections: profiles first, then purchases.
profiles=$work/profiles.curl purchases=$work/purchases.curl
for i in $(seq 0 $(( customers - 1 ))); do
  printf 'url = "http://127.0.0.1:%s/api/v1/customers/w%s"\nrequest = "PUT"\nheader = "X-Api-Key: %s"\nheader = "content-type: application/json"\ndata = "{\\"firstName\\":\\"W%s\\",\\"lastName\\":\\"Reader\\",\\"email\\":\\"w%s@example.com\\",\\"region\\":\\"north\\",\\"tags\\":[\\"bench\\"]}"\noutput = "/dev/null"\nsilent\nwrite-out = "%%{http_code}\\n"\nnext\n' \
    "$port" "$i" "$key" "$i" "$i"
done >"$profiles"
for i in $(seq 0 $(( customers - 1 ))); do
  for e in 1 2 3; do
    printf 'url = "http://127.0.0.1:%s/api/v1/customers/w%s/events"\nheader = "X-Api-Key: %s"\nheader = "content-type: application/json"\nheader = "Prefer: return=minimal"\ndata = "{\\"eventId\\":\\"p%s\\",\\"type\\":\\"purchase\\",\\"occurredAt\\":\\"%s\\",\\"channel\\":\\"web\\",\\"data\\":{\\"amount\\":%s%s.5}}"\noutput = "/dev/null"\nsilent\nwrite-out = "%%{http_code}\\n"\nnext\n' \
      "$port" "$i" "$key" "$e" "$when" "$e" "$e"
  done
done >"$purchases"
for phase in "$profiles" "$purchases"; do
  sed -i '$d' "$phase" # no "next" after the last transfer
  codes=$(curl --parallel --parallel-max 16 -K "$phase" 2>/dev/null | sort | uniq -c)
  echo "$codes" | grep -qvE '^ *[0-9]+ 20[0-9]$' && fail "creating customers failed: $codes"
done
run() { # label, then wrk's target arguments
  local label=$1; shift
  say "$label: wrk 2 threads, 32 connections, $seconds s"
  echo "## $label"
  "$@" 2>&1 | grep -E 'Requests/sec|Latency  |50%|90%|99%|Non-2xx|Socket errors'
}
run "health (no credentials)" wrk -t2 -c32 -d"${seconds}s" --latency "http://127.0.0.1:$port/health/live"
CUSTOMERS=$customers CRM_KEY=$key TARGET=me run "authenticated ceiling (auth/me)" wrk -t2 -c32 -d"${seconds}s" --latency -s "$root/bench/wrk/view.lua" "http://127.0.0.1:$port"
# Warm every customer once, so the view run measures reads of active customers.
CUSTOMERS=$customers CRM_KEY=$key run "warm-up view" wrk -t2 -c32 -d5s -s "$root/bench/wrk/view.lua" "http://127.0.0.1:$port" >/dev/null
if [ -n "${PERF:-}" ]; then
  ( sleep 3; perf record -F 499 -a -g -o "$PERF" -- sleep 12 >/dev/null 2>&1 ) &
  perf_pid=$!
fi
CUSTOMERS=$customers CRM_KEY=$key run "customer view" wrk -t2 -c32 -d"${seconds}s" --latency -s "$root/bench/wrk/view.lua" "http://127.0.0.1:$port"
CUSTOMERS=$customers CRM_KEY=$key TARGET=compact run "compact view (?fields=firstName,lastName,segments)" wrk -t2 -c32 -d"${seconds}s" --latency -s "$root/bench/wrk/view.lua" "http://127.0.0.1:$port"
# The audit trail under the view's load: commits and their records, their time, and requests that waited for room.
echo "## audit trail (from /metrics)"
curl -sf -H "Authorization: ApiKey $key" "http://127.0.0.1:$port/metrics" \
  | grep -E '^crm_audit_(batch_records_(sum|count)|queue_full_total)|^crm_storage_duration_seconds_(sum|count)\{operation="audit.append"' || true
# The profile, if any, is written before the node is stopped (waiting for every job would wait for the node).
[ -n "${perf_pid:-}" ] && wait "$perf_pid"
exit 0
