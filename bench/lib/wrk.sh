# Sourced first by the wrk scripts (wrk-ingest.sh, wrk-view.sh) with their arguments: kind (sqlite|postgres),
# [seconds] [customers] [silo dll]. Moves to the repository root and sets root, kind, seconds, customers, silo_dll,
# say and fail (lines prefixed with the script's name); stops unless wrk is installed; then sources node.sh.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[1]}")/.."
root=$PWD
kind=${1:-sqlite}
seconds=${2:-20}
customers=${3:-2000}
silo_dll=${4:-$root/silo/bin/Release/net10.0/OrleansCrm.Silo.dll}
wrk_script=$(basename "${BASH_SOURCE[1]}" .sh)
say() { echo "[$wrk_script] $*" >&2; }
fail() { say "$*"; exit 1; }
command -v wrk >/dev/null || fail "wrk is needed (Debian package wrk)"
source "$root/bench/lib/node.sh"
