#!/usr/bin/env bash
# Installs the PyPI packages scripts/bench_quality.py drives, at the versions its results were measured with,
# if any is missing or at another version. Idempotent. torch comes from PyPI: the project's machines reach PyPI and
# Debian only, not PyTorch's own CPU-wheel index. pip prefers a local torch-2.13.0+cpu wheel where the machine's pip
# configuration offers one (find-links); otherwise PyPI's torch 2.13.0 is the CUDA-bundled build, a few GB with its
# nvidia-* dependencies, which runs on CPU all the same.
set -euo pipefail
packages=(torch==2.13.0 torch-rechub==0.9.0 scikit-learn==1.9.1 lightgbm==4.7.0 pandas==3.1.1 numpy==2.4.6)
python3 - "${packages[@]}" <<'EOF' 2>/dev/null && exit 0
import sys
from importlib.metadata import version
# "2.13.0+cpu" satisfies the pin "2.13.0": compare without the local version label.
sys.exit(any(version(name).split("+")[0] != pinned for name, pinned in (p.split("==") for p in sys.argv[1:])))
EOF
echo "quality_tools: pip install ${packages[*]}"
flags=(--quiet --disable-pip-version-check)
# Debian's own python3 is "externally managed" (PEP 668): a root install there needs the explicit override.
python3 -m pip install "${flags[@]}" "${packages[@]}" 2>/dev/null ||
    python3 -m pip install "${flags[@]}" --break-system-packages "${packages[@]}"
