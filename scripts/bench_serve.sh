#!/usr/bin/env bash
# Serving benchmark: funnel-serve vs nghttpd on /healthz, and end-to-end scoring vs the kernel alone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
command -v nghttpd >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nghttp2-server >/dev/null
swift build -c release --product funnel-serve
swift build -c release --product funnel-bench
python3 scripts/bench_serve.py --bin "$(swift build -c release --show-bin-path)" "$@"
