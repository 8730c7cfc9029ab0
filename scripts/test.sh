#!/usr/bin/env bash
# The test command: set up, build everything with warnings as errors and the import-direction check,
# then run every test (unit, golden fixture, CLI and daemon end to end), the concurrent ones again under
# ThreadSanitizer, validate the OpenAPI document and deploy/, check that data-parallel training over MPI matches one
# process, prove that a batch and GET /healthz allocate nothing, walk through the operator's guide, and render the
# training report in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/python_tools.sh                   # h2, schemathesis, OIP clients, deploy validators (pinned)
swift format lint --strict -r Sources Tests   # .swift-format: the project's style, line length 120
swift build --build-tests --explicit-target-dependency-import-check error
swift test --skip-build --explicit-target-dependency-import-check error
bash scripts/tsan.sh                           # ThreadSanitizer: batcher, model store, transport, daemon end to end
python3 -c 'from openapi_spec_validator import validate; from openapi_spec_validator.readers import read_from_filename; validate(read_from_filename("docs/openapi.yaml")[0]); print("docs/openapi.yaml: valid OpenAPI 3")'
bash scripts/check_allocations.sh
bash scripts/validate_deploy.sh --build        # deploy/: schemas, systemd-analyze, promtool, envoy API, static build + ldd
bash scripts/mpi_equivalence.sh                # mpirun -np 2 funnel-train train: test AUCs within 0.003 of one process
FUNNEL_BIN_DIR="$(swift build --show-bin-path)" bash scripts/operate_demo.sh   # the operator guide's walk-through
python3 Tests/Clients/oip_clients.py --binary "$(swift build --show-bin-path)/funnel-serve"  # tritonclient, kserve
python3 Tests/Report/render_report.py --binary "$(swift build --show-bin-path)"  # the HTML report in headless Chromium
bash scripts/reliability.sh                    # fuzzers, HTTP/2 abuse, schemathesis, soak, reload and shutdown under load
