#!/usr/bin/env bash
# Reload under load: 100 checkpoint swaps (good, corrupt, truncated, spec-incompatible, half-written) each followed by SIGHUP while h2load runs; 0 failed requests, every checked answer names a good version.
#
#   bash scripts/reload_under_load.sh [flags]     # defaults: --swaps 100 --seconds 30   (Tests/Abuse/load.py reload --help)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/python_tools.sh
[ -x .build-rel/release/funnel-serve ] && [ "${FUNNEL_REBUILD:-1}" = 0 ] ||
    swift build -c release --scratch-path .build-rel --product funnel-serve 2>&1 | tail -1
[ $# -gt 0 ] || set -- --swaps 100 --seconds 30
exec python3 Tests/Abuse/load.py reload "$@"
