#!/usr/bin/env bash
# Kernel benchmark: Funnel's fast kernel vs its reference kernel, OpenBLAS sgemm and onnxruntime, single
# thread, same weights and inputs, in one run. Extra arguments go to scripts/bench_kernel.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python3 -m pip install -q --disable-pip-version-check numpy onnx onnxruntime
swift build -c release --product funnel-bench
python3 scripts/bench_kernel.py --bench-binary "$(swift build -c release --show-bin-path)/funnel-bench" "$@"
