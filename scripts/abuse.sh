#!/usr/bin/env bash
# HTTP/2 and HTTP/1.1 abuse against a release funnel-serve on 127.0.0.1 (ephemeral port) while a well-behaved
# client keeps scoring and checking every answer (Tests/Abuse/abuse.py). Exit 1 if any case fails, the daemon
# dies, or the well-behaved client sees a single error.
#
#   bash scripts/abuse.sh [--scale 0.2] [case …]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/python_tools.sh
[ -x .build-rel/release/funnel-serve ] && [ "${FUNNEL_REBUILD:-1}" = 0 ] ||
    swift build -c release --scratch-path .build-rel --product funnel-serve 2>&1 | tail -1
exec python3 Tests/Abuse/abuse.py "$@"
