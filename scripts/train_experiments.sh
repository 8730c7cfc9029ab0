#!/bin/sh
# Builds funnel-train (release) and reproduces the results table of docs/TRAINING.md (≈ 5–15 min on 2 cores).
# Extra arguments go to scripts/train_experiments.py (e.g. --seeds 1 2 3 --out /tmp/x --markdown table.md).
set -e
cd "$(dirname "$0")/.."
# Own scratch path (SCRATCH=… to override), so it never races the daemon's or the tests' builds.
SCRATCH=${SCRATCH:-.build-train}
swift build -c release --scratch-path "$SCRATCH" --product funnel-train
FUNNEL_TRAIN="$SCRATCH/release/funnel-train" exec python3 scripts/train_experiments.py "$@"
