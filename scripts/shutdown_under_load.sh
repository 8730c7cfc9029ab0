#!/usr/bin/env bash
# Shutdown under load: SIGTERM mid-load; every accepted stream answered 200, GOAWAY on every connection, exit 0 within the grace period, new connections refused.
#
#   bash scripts/shutdown_under_load.sh [flags]     # defaults: --seconds 4   (Tests/Abuse/load.py shutdown --help)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/python_tools.sh
[ -x .build-rel/release/funnel-serve ] && [ "${FUNNEL_REBUILD:-1}" = 0 ] ||
    swift build -c release --scratch-path .build-rel --product funnel-serve 2>&1 | tail -1
[ $# -gt 0 ] || set -- --seconds 4
exec python3 Tests/Abuse/load.py shutdown "$@"
