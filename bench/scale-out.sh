#!/usr/bin/env bash
# Scale-out figures: for each silo count (1, 2 and 4 by default) starts a cluster with scripts/cluster.sh (a private
# PostgreSQL, N silos and a gateway from a Release build), seeds the bench's population into its log, drives its
# gateway with the bench (--target: view and ingest over HTTP), stops it, and finally writes
# bench/results/scale-out-<date>.md and .json (throughput per silo count, scaling efficiency, correctness).
# Usage: bench/scale-out.sh [customers] [seconds] [concurrency]   (defaults 20000 20 32; SILO_COUNTS="1 2 4")
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
customers=${1:-20000}
seconds=${2:-20}
concurrency=${3:-32}
silo_counts=${SILO_COUNTS:-1 2 4}
export GATEWAY_URL=${GATEWAY_URL:-http://127.0.0.1:5080}

say() { echo "[scale-out] $*" >&2; }
fail() { say "$*"; exit 1; }

# The bench's callers must not be refused by the per-caller budget, nor slowed by request logs or the dashboard.
export CRM_GATEWAY__REQUESTSPERMINUTE=10000000
export CRM_GATEWAY__DASHBOARD=false
export CRM_LOG__LEVEL=Warning

runs=$(mktemp -d /tmp/orleanscrm-scale-out.XXXXXX)
cluster_pid=
stop_cluster() {
  [ -n "$cluster_pid" ] || return 0
  kill -TERM "$cluster_pid" 2>/dev/null
  wait "$cluster_pid" 2>/dev/null
  cluster_pid=
}
trap 'stop_cluster' EXIT
trap 'stop_cluster; exit 130' INT TERM

say "building the bench (Release)"
dotnet build "$root/bench/OrleansCrm.Bench" -c Release -nologo -v quiet >&2 || fail "build failed"
bench_dll=$root/bench/OrleansCrm.Bench/bin/Release/net10.0/OrleansCrm.Bench.dll

for silos in $silo_counts; do
  log=$runs/cluster-$silos.log
  say "starting a cluster of $silos silos (log: $log)"
  "$root/scripts/cluster.sh" "$silos" 2>"$log" >&2 &
  cluster_pid=$!
  # Building and starting take a few minutes the first time.
  for _ in $(seq 1 600); do
    grep -q '^\[cluster\] ready:' "$log" 2>/dev/null && break
    kill -0 "$cluster_pid" 2>/dev/null || { cat "$log" >&2; fail "the cluster of $silos silos did not start"; }
    sleep 1
  done
  grep -q '^\[cluster\] ready:' "$log" || fail "the cluster of $silos silos was not ready after 10 minutes; see $log"
  key=$(sed -n 's/^\[cluster\] administrator key for this run: //p' "$log")
  database=$(sed -n 's/^\[cluster\] database: \(.*\) (cluster id .*)$/\1/p' "$log")
  cluster_id=$(sed -n 's/^\[cluster\] database: .* (cluster id \(.*\))$/\1/p' "$log")
  [ -n "$key" ] && [ -n "$database" ] || fail "could not read the key and database from $log"

  say "running the bench against $silos silos"
  dotnet "$bench_dll" --target "$GATEWAY_URL" --key "$key" --postgres "$database" --cluster-id "$cluster_id" \
    --silos "$silos" --customers "$customers" --seconds "$seconds" --concurrency "$concurrency" \
    --out "$runs/silos-$silos.json" >/dev/null || say "the run with $silos silos was not correct (see above); going on"
  stop_cluster
done

dotnet "$bench_dll" --scenario scale-out-report --runs "$runs"
