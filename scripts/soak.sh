#!/usr/bin/env bash
# Soak at 70% of the measured max throughput (h2load, mixed 10–300 candidates): 0 errors, RSS growth < 5% from the
# end of the warm-up to the last window, p99 stable (no window above 3x the median window p99).
# Long run: bash scripts/soak.sh --seconds 1800 --window 60 --warmup 60
#
#   bash scripts/soak.sh [flags]     # defaults: --seconds 60 --window 10   (Tests/Abuse/load.py soak --help)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/python_tools.sh
[ -x .build-rel/release/funnel-serve ] && [ "${FUNNEL_REBUILD:-1}" = 0 ] ||
    swift build -c release --scratch-path .build-rel --product funnel-serve 2>&1 | tail -1
[ $# -gt 0 ] || set -- --seconds 60 --window 10 --warmup 60
exec python3 Tests/Abuse/load.py soak "$@"
