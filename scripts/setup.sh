#!/usr/bin/env bash
# Installs the apt packages a fresh Debian 12 machine with the Swift toolchain lacks for building and testing
# Funnel (the PyPI test tools: scripts/python_tools.sh, which test.sh calls).
# Idempotent: packages already present are skipped. Run as root (apt).
set -euo pipefail

packages=(
    pkg-config
    libnghttp2-dev nghttp2-client   # HTTP/2 library; nghttp and h2load for end-to-end tests
    libssl-dev                      # TLS with ALPN
    zlib1g-dev                      # gzip bodies
    libopenblas-dev                 # the reference sgemm the kernel benchmark compares against
    libopenmpi-dev openmpi-bin      # funnel-train links OpenMPI; mpirun runs scripts/mpi_equivalence.sh
    curl openssl gzip
    prometheus                      # promtool checks the /metrics exposition
    valgrind                        # allocation counting of a batch (scripts/check_allocations.sh)
    systemd                         # systemd-analyze verify of deploy/systemd (scripts/validate_deploy.sh)
    python3 python3-pip             # the Python test tools below, and the scripts' clients
    chromium                        # renders the HTML training report headless (Tests/Report/render_report.py)
)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
