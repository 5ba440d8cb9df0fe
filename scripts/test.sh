#!/usr/bin/env bash
# Runs the whole test suite on this machine: installs PostgreSQL and Chromium if they are missing, starts a private server as a
# non-root user on a free loopback port, runs every test against it, stops it, and prints "N passed, N failed" last.
# Usage: scripts/test.sh [extra dotnet test arguments, e.g. --filter Name~Schema]
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
configuration=${CRM_TEST_CONFIGURATION:-Release}

say() { echo "[test] $*" >&2; }
fail() { say "$*"; echo "0 passed, 1 failed"; exit 1; }

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  return 1
}

# 1. PostgreSQL server binaries (Debian's postgresql-15), installed once if absent.
if ! bin=$(pg_bin); then
  say "PostgreSQL server not found; installing postgresql-15"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >&2 || fail "could not install postgresql-15"
  else
    sudo -n apt-get update -qq >&2 && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >&2 \
      || fail "PostgreSQL is missing and cannot be installed without root: apt-get install postgresql-15"
  fi
  bin=$(pg_bin) || fail "postgresql-15 installed but initdb was not found"
fi

# 1b. Chromium for the browser tests (Debian's package; Playwright drives it, nothing is downloaded), once if absent.
if [ ! -x /usr/bin/chromium ]; then
  say "Chromium not found; installing chromium"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2 || fail "could not install chromium"
  else
    sudo -n apt-get update -qq >&2 && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2 \
      || fail "Chromium is missing and cannot be installed without root: apt-get install chromium"
  fi
  [ -x /usr/bin/chromium ] || fail "chromium installed but /usr/bin/chromium was not found"
fi

# 2. A private server. PostgreSQL refuses to run as root, so as root it runs as the 'postgres' user.
run_pg() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  run_pg() { runuser -u postgres -- "$@"; }
fi

pg_dir=$(mktemp -d /tmp/orleanscrm-pg.XXXXXX)
chmod 755 "$pg_dir"
[ "$(id -u)" -eq 0 ] && chown postgres "$pg_dir"

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Ports below the kernel's ephemeral range, so an outgoing connection cannot be holding the one chosen.
ephemeral_low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
pick_port() {
  local candidate
  for _ in $(seq 1 50); do
    candidate=$(( 15000 + RANDOM % (ephemeral_low > 16000 ? ephemeral_low - 15000 : 15000) ))
    if port_is_free "$candidate"; then echo "$candidate"; return 0; fi
  done
  return 1
}

cleanup() {
  run_pg "$bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1
  # Processes a crashed test left behind must not outlive the run.
  pkill -f "$root/silo/bin/" 2>/dev/null
  pkill -f "$root/gateway/bin/" 2>/dev/null
  rm -rf "$pg_dir"
}
trap cleanup EXIT

run_pg "$bin/initdb" -D "$pg_dir/data" -A trust -U postgres -E UTF8 --no-locale >"$pg_dir/initdb.log" 2>&1 \
  || { cat "$pg_dir/initdb.log" >&2; fail "initdb failed"; }
# A port can still be taken between the check and the bind: try a few.
started=0
for _ in 1 2 3 4 5; do
  port=$(pick_port) || fail "no free loopback port found for PostgreSQL"
  if run_pg "$bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
      -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off" start >&2; then
    started=1
    break
  fi
  say "PostgreSQL could not start on port $port; trying another"
done
[ "$started" -eq 1 ] || { cat "$pg_dir/server.log" >&2; fail "PostgreSQL did not start"; }
say "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
export CRM_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"

# 3. Build and test.
results="$pg_dir/results"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
dotnet build OrleansCrm.sln -c "$configuration" -nologo -v quiet >&2 || fail "build failed"
dotnet test OrleansCrm.sln -c "$configuration" --no-build -nologo \
  --logger trx --logger "console;verbosity=normal" --results-directory "$results" "$@" >&2
status=$?

# Every test project writes its own results file; the totals are their sums.
passed=0
failed=0
found=0
for trx in $(find "$results" -name '*.trx' 2>/dev/null); do
  found=1
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(echo "$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p')
  f=$(echo "$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p')
  e=$(echo "$counters" | sed -n 's/.* error="\([0-9]*\)".*/\1/p')
  passed=$(( passed + ${p:-0} ))
  failed=$(( failed + ${f:-0} + ${e:-0} ))
done
[ "$found" -eq 1 ] || fail "the test run produced no results (dotnet test exit $status)"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then failed=1; say "no test ran"; fi
[ -d "$root/artifacts/screenshots" ] && say "Screenshots of the web screens: $root/artifacts/screenshots"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
