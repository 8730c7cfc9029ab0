#!/usr/bin/env bash
# The main job. Until the daemon (funnel-serve) lands, it builds the release binaries and verifies and
# describes the default model with the checkpoint tool.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product funnel-train
bin=$(swift build -c release --show-bin-path)
model=${FUNNEL_MODEL:-models/funnel-student/1/model.fckpt}
"$bin/funnel-train" checkpoint verify "$model"
"$bin/funnel-train" checkpoint inspect "$model"
