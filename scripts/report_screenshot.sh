#!/usr/bin/env bash
# Regenerates docs/report.png, the README's picture of the training report: the default simulated world
# (`funnel-train simulate` with its defaults) trained with `train --html`, then `evaluate --state … --html`,
# rendered and checked by headless Chromium (Tests/Report/render_report.py), which keeps the top of the page.
#   bash scripts/report_screenshot.sh                      # builds funnel-train (release) first
#   FUNNEL_BIN_DIR=dir bash scripts/report_screenshot.sh   # uses dir/funnel-train
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/python_tools.sh
if [[ -z "${FUNNEL_BIN_DIR:-}" ]]; then
    swift build -c release --product funnel-train
    FUNNEL_BIN_DIR="$(swift build -c release --show-bin-path)"
fi
world="$(mktemp -d)"
trap 'rm -rf "$world"' EXIT
"$FUNNEL_BIN_DIR/funnel-train" simulate -o "$world"
python3 Tests/Report/render_report.py --binary "$FUNNEL_BIN_DIR" --world "$world" --screenshot docs/report.png
