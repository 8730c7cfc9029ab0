#!/usr/bin/env bash
# The test command: set up, build everything with warnings as errors and the import-direction check,
# then run every test (unit, golden fixture, CLI end to end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build --build-tests --explicit-target-dependency-import-check error
swift test --skip-build --explicit-target-dependency-import-check error
bash scripts/check_allocations.sh
