#!/usr/bin/env bash
# Writes clients/dotnet/openapi.json (the contract a freshly built CRM serves, without its address) and regenerates
# the typed client's OrleansCrm.Client/Generated from it with Kiota (the version pinned in .config/dotnet-tools.json).
# Run it after changing an endpoint; the test suite fails while either is out of date (ContractTests).
# Usage: clients/dotnet/generate.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 KIOTA_OFFLINE_ENABLED=true KIOTA_TUTORIAL_ENABLED=false
dotnet tool restore >/dev/null
dotnet build OrleansCrm.sln -c Release -nologo -v quiet >/dev/null
# The test starts the CRM as the README's run command does, reads its contract and writes both instead of comparing.
CRM_WRITE_CONTRACT=1 dotnet test tests/OrleansCrm.Tests -c Release --no-build -nologo \
  --filter "FullyQualifiedName~ContractTests.The_committed_contract_and_typed_client_are_the_ones_the_gateway_serves" >/dev/null
# The client compiles against what was just generated.
dotnet build clients/dotnet/OrleansCrm.Client -c Release -nologo -v quiet >/dev/null
git status --short clients/dotnet
