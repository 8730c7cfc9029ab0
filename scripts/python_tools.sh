#!/usr/bin/env bash
# Installs the PyPI tools the test suite drives, if any is missing, at the versions the suite was measured with:
# h2/hpack (HTTP/2 abuse and load clients), schemathesis (API fuzzing), openapi-spec-validator, the Open Inference
# Protocol clients (tritonclient, kserve, httpx with HTTP/2, grpcio's health stub), and the deploy/ validators
# (kubernetes-validate, envoy-data-plane, PyYAML), and websocket-client (Chromium's DevTools protocol, for the report's
# rendering test). test.sh calls it; so does every script that uses
# one of them, since each also runs on its own. Idempotent.
set -euo pipefail
packages=(h2==4.4.1 hpack==4.2.0 schemathesis==4.32.5 openapi-spec-validator==0.9.0
          kubernetes-validate==1.37.0 envoy-data-plane==2.2.0 PyYAML==6.0.3
          "tritonclient[http,grpc]==2.73.0" kserve==0.21.0 "httpx[http2]==0.29.0" grpcio-health-checking==1.81.1
          websocket-client==1.9.2)
python3 -c 'import h2, hpack, schemathesis, openapi_spec_validator, kubernetes_validate, envoy_data_plane, yaml' \
    2>/dev/null && python3 -c 'import tritonclient.http, tritonclient.grpc, grpc_health' 2>/dev/null &&
    python3 -c 'import kserve, httpx, websocket' 2>/dev/null && exit 0  # kserve and tritonclient.grpc: one per process
echo "python_tools: pip install ${packages[*]}"
flags=(--quiet --disable-pip-version-check)
# Debian's own python3 is "externally managed" (PEP 668): a root install there needs the explicit override.
python3 -m pip install "${flags[@]}" "${packages[@]}" 2>/dev/null ||
    python3 -m pip install "${flags[@]}" --break-system-packages "${packages[@]}"
