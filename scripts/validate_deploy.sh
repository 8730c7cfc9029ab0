#!/usr/bin/env bash
# Validates deploy/ without a cluster, a container engine or an Envoy binary; exits non-zero on any invalid file.
#
#   bash scripts/validate_deploy.sh            # every check below (~30 s after the one-time installs)
#   bash scripts/validate_deploy.sh --build    # also builds funnel-serve as the image does (release,
#                                              # --static-swift-stdlib, scratch .build-deploy) and checks with ldd
#                                              # that the runtime stage installs every library it needs
#   FUNNEL_SERVE_BIN=path bash scripts/validate_deploy.sh   # the ldd check on an existing static release binary
#
# Checks: every YAML/JSON under deploy/ parses; the Dockerfile's structure; the systemd unit (systemd-analyze
# verify + structure); the Kubernetes manifests against the Kubernetes 1.30 and 1.37 schemas (kubernetes-validate,
# strict); the Kubeflow MPIJob of deploy/kubernetes/training/ (no schema for the operator's CRD: its structure, and its
# pod templates and claim against the same Kubernetes schemas, in validate_deploy.py); the Envoy config against Envoy's v3 API (envoy-data-plane), plus `envoy --mode validate` if an envoy
# binary is on PATH; the Prometheus config and alert rules (promtool check config / check rules / test rules); the
# Grafana dashboard (structure, PromQL syntax through promtool, metric names the daemon exports); and the files'
# consistency (scripts/validate_deploy.py). Idempotent: installs only what is missing (apt, pip). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

build=0
for argument in "$@"; do
    case "$argument" in
        --build) build=1 ;;
        *) echo "usage: $0 [--build]" >&2; exit 2 ;;
    esac
done

# --- tools --------------------------------------------------------------------------------------------------
bash scripts/setup.sh          # systemd-analyze and promtool (apt), when missing
bash scripts/python_tools.sh   # kubernetes-validate, envoy-data-plane, PyYAML, when missing

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- the binary, built like the image's -----------------------------------------------------------------------
binary="${FUNNEL_SERVE_BIN:-}"
if ((build)); then
    swift build -c release --static-swift-stdlib --scratch-path .build-deploy --product funnel-serve
    binary="$(swift build -c release --static-swift-stdlib --scratch-path .build-deploy --show-bin-path)/funnel-serve"
fi

if [[ -n "$binary" ]]; then
    [[ -x "$binary" ]] || { echo "no executable funnel-serve at $binary" >&2; exit 1; }
    binary="$(realpath "$binary")"
fi

# --- consistency, Dockerfile, Envoy API, dashboard and alerts (Python) --------------------------------------------
echo "== scripts/validate_deploy.py"
python3 scripts/validate_deploy.py ${binary:+--binary "$binary"}

# --- Kubernetes schemas ---------------------------------------------------------------------------------------------
for version in 1.30.0 1.37.0; do
    echo "== kubernetes-validate --strict -k $version deploy/kubernetes/*.yaml deploy/kubernetes/jobs/*.yaml"
    kubernetes-validate --strict --quiet -k "$version" deploy/kubernetes/*.yaml deploy/kubernetes/jobs/*.yaml
    echo "  ok  $(ls deploy/kubernetes/*.yaml deploy/kubernetes/jobs/*.yaml | wc -l) files valid against Kubernetes $version (strict)"
done

# --- systemd --------------------------------------------------------------------------------------------------------
# verify needs ExecStart's binary to exist: check a copy whose ExecStart names one that does (the binary above,
# the debug build, or a stub), with nothing else changed. Any message (verify exits 0 on mere warnings) fails.
echo "== systemd-analyze verify deploy/systemd/funnel-serve.service"
exec_binary="$binary"
if [[ -z "$exec_binary" || ! -x "$exec_binary" ]]; then
    exec_binary="$(swift build --show-bin-path 2>/dev/null)/funnel-serve"
fi
if [[ ! -x "$exec_binary" ]]; then
    exec_binary="$work/funnel-serve"
    printf '#!/bin/sh\nexit 0\n' >"$exec_binary"
    chmod +x "$exec_binary"
fi
mkdir -p "$work/unit"
sed "s#^ExecStart=/usr/local/bin/funnel-serve #ExecStart=$exec_binary #" deploy/systemd/funnel-serve.service \
    >"$work/unit/funnel-serve.service"
grep -q "^ExecStart=$exec_binary " "$work/unit/funnel-serve.service" || { echo "ExecStart is not /usr/local/bin/funnel-serve" >&2; exit 1; }
verify_output="$(cd "$work/unit" && systemd-analyze verify --man=no ./funnel-serve.service 2>&1)" || {
    echo "$verify_output" >&2; exit 1; }
if [[ -n "$verify_output" ]]; then
    echo "$verify_output" >&2
    echo "systemd-analyze verify reported the messages above" >&2
    exit 1
fi
echo "  ok  systemd-analyze verify: no messages (ExecStart checked against $exec_binary)"

# --- Prometheus --------------------------------------------------------------------------------------------------------
echo "== promtool"
(cd deploy/prometheus && promtool check config prometheus.yml && promtool check rules funnel-alerts.yml \
    && promtool test rules funnel-alerts.test.yml) >"$work/promtool.log" 2>&1 || { cat "$work/promtool.log" >&2; exit 1; }
if grep -q "FAILED" "$work/promtool.log"; then cat "$work/promtool.log" >&2; exit 1; fi
echo "  ok  promtool check config, check rules, test rules"

# --- Envoy binary, where there is one -------------------------------------------------------------------------------------
if command -v envoy >/dev/null; then
    echo "== envoy --mode validate"
    envoy --mode validate -c deploy/envoy/envoy.yaml
else
    echo "  --  no envoy binary on PATH: deploy/envoy/envoy.yaml was checked against Envoy's v3 API protos only"
fi
if [[ -z "$binary" ]]; then
    echo "  --  ldd check skipped (pass --build or FUNNEL_SERVE_BIN=<static release funnel-serve>)"
fi
echo "validate_deploy: all deploy/ checks passed"
