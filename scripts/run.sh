#!/usr/bin/env bash
# The main job: set up, build, and run the scoring daemon on the default model (config/serve.json,
# models/funnel-student). It prints the URL it listens on; stop it with Ctrl-C (a graceful drain).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product funnel-serve
exec "$(swift build -c release --show-bin-path)/funnel-serve" --config config/serve.json "$@"
