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

source "$root/scripts/postgres.sh"

# 1. PostgreSQL server binaries (Debian's postgresql-15), installed once if absent.
pg_install

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

# 1c. The contract's linter (Redocly CLI, from the npm registry, pinned) and the client generator (Kiota, a .NET tool
# pinned in .config/dotnet-tools.json), once each; ContractTests runs both on the served document.
redocly_version=2.77.0
redocly="$root/.tools/redocly/node_modules/.bin/redocly"
if [ ! -x "$redocly" ] || [ "$(cat "$root/.tools/redocly/version" 2>/dev/null)" != "$redocly_version" ]; then
  if ! command -v npm >/dev/null; then
    say "npm not found; installing npm (it installs the contract's linter)"
    if [ "$(id -u)" -eq 0 ]; then
      apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >&2 || fail "could not install npm"
    else
      sudo -n apt-get update -qq >&2 && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >&2 \
        || fail "npm is missing and cannot be installed without root: apt-get install npm"
    fi
  fi
  say "installing @redocly/cli $redocly_version"
  mkdir -p "$root/.tools/redocly"
  (cd "$root/.tools/redocly" && npm install --no-audit --no-fund --silent "@redocly/cli@$redocly_version" >&2) || fail "could not install @redocly/cli"
  echo "$redocly_version" > "$root/.tools/redocly/version"
fi
export CRM_TEST_REDOCLY="$redocly" KIOTA_OFFLINE_ENABLED=true KIOTA_TUTORIAL_ENABLED=false
dotnet tool restore >&2 || fail "could not restore the .NET tools (.config/dotnet-tools.json)"

# 2. A private server (fsync off: the tests need no durability across a power cut).
cleanup() {
  pg_stop
  # Processes a crashed test left behind must not outlive the run.
  pkill -f "$root/silo/bin/" 2>/dev/null
  pkill -f "$root/gateway/bin/" 2>/dev/null
}
trap cleanup EXIT
pg_start "-c fsync=off"
say "PostgreSQL $("$pg_bin_dir/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port"
export CRM_TEST_POSTGRES="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres"

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
