#!/usr/bin/env python3
"""Checks every file under deploy/ without a cluster, a container engine or an Envoy binary.

Run by scripts/validate_deploy.sh, which also runs the external checkers (kubernetes-validate, systemd-analyze
verify, promtool). This file holds the checks that need Python: parsing, Envoy's v3 API (envoy-data-plane),
the Dockerfile's structure, the dependencies of a built binary, and the consistency between the files (the
Deployment launches what the image launches, the grace periods add up, the dashboard and the alerts name metrics
the daemon exports). Exits 1 with one line per problem.

    python3 scripts/validate_deploy.py [--binary PATH] [--sync-envoy-configmap]
"""
import argparse
import importlib
import json
import keyword
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
NAMESPACE = "funnel"
# debian:bookworm-slim already has these (libc, and the C++ runtime that apt itself needs).
SLIM_BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}
# libopenmpi3: funnel-train (also in the image, for `checkpoint verify`) links libmpi.
RUNTIME_PACKAGES = {"libnghttp2-14", "libssl3", "zlib1g", "libopenmpi3"}
# Metric names that alerts and panels may use besides the daemon's own.
EXTERNAL_METRICS = {"up", "kube_deployment_status_replicas_available", "kube_deployment_spec_replicas"}

problems: list[str] = []
passed: list[str] = []


def fail(where: str, message: str) -> None:
    problems.append(f"{where}: {message}")


def ok(message: str) -> None:
    passed.append(message)
    print(f"  ok  {message}")


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


# ---------------------------------------------------------------------------------------------------- parsing


def load_all() -> dict[Path, list]:
    """Every YAML and JSON file under deploy/ must parse; returns the documents of each."""
    documents: dict[Path, list] = {}
    for path in sorted(DEPLOY.rglob("*")):
        if path.suffix in (".yaml", ".yml"):
            try:
                documents[path] = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
            except yaml.YAMLError as error:
                fail(rel(path), f"YAML does not parse: {error}")
        elif path.suffix == ".json":
            try:
                documents[path] = [json.loads(path.read_text(), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))]
            except ValueError as error:
                fail(rel(path), f"JSON does not parse: {error}")
    ok(f"{len(documents)} YAML/JSON files under deploy/ parse")
    return documents


# ------------------------------------------------------------------------------------------------- the daemon


def daemon_config_keys() -> dict:
    return json.loads((ROOT / "config/serve.json").read_text())


def check_serve_config(where: str, config: dict) -> None:
    """Keys the daemon knows, with values of the default's type (the daemon refuses unknown keys)."""
    defaults = daemon_config_keys()
    for key, value in config.items():
        if key not in defaults:
            fail(where, f"unknown daemon key {key!r} (config/serve.json lists them)")
            continue
        default = defaults[key]
        if value is None or default is None:
            continue
        numeric = (int, float)
        if isinstance(default, bool) or isinstance(value, bool):
            if type(default) is not type(value):
                fail(where, f"{key} must be a boolean")
        elif isinstance(default, numeric):
            if not isinstance(value, numeric):
                fail(where, f"{key} must be a number")
        elif type(default) is not type(value):
            fail(where, f"{key} must be a {type(default).__name__}")
    if config.get("max_candidates_per_request", 1000) > config.get("max_batch_rows", 1024):
        fail(where, "max_candidates_per_request must be ≤ max_batch_rows")
    if config.get("max_queued_rows", 65536) < config.get("max_batch_rows", 1024):
        fail(where, "max_queued_rows must be ≥ max_batch_rows")


def daemon_metrics() -> set[str]:
    """Series names funnel-serve exports, read from Sources/Scoring/ScoringMetrics.swift."""
    source = (ROOT / "Sources/Scoring/ScoringMetrics.swift").read_text()
    names = set()
    pattern = (r'make(Counter|Gauge|DurationHistogram|ValueHistogram)\(\s*descriptor:\s*(?:Self|ScoringMetrics)\.name\('
               r'\s*"(\w+)"(?:,\s*unit:\s*"(\w*)")?')
    for kind, name, unit in re.findall(pattern, source):
        base = f"funnel_{name}" + (f"_{unit}" if unit else "")
        if kind.endswith("Histogram"):
            names |= {base + "_bucket", base + "_sum", base + "_count"}
        else:
            names.add(base)
    if len(names) < 14:
        fail("Sources/Scoring/ScoringMetrics.swift", f"found only {len(names)} metric names; the parser needs updating")
    return names


PROMQL_WORDS = {
    "sum", "by", "without", "rate", "increase", "irate", "histogram_quantile", "count", "max", "min", "avg", "unless",
    "on", "ignoring", "and", "or", "bool", "le", "label_values", "group_left", "group_right", "topk", "bottomk",
    "abs", "clamp_min", "clamp_max", "offset", "absent", "delta", "deriv", "vector", "scalar", "time", "quantile",
}


def metric_names_in(expr: str) -> set[str]:
    """Identifiers in a PromQL expression that stand for series (not functions, labels or keywords)."""
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values
    stripped = re.sub(r"\{[^}]*\}", "{}", stripped)  # matchers
    stripped = re.sub(r"\[[^\]]*\]", "[]", stripped)  # ranges
    stripped = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", stripped)
    names = set()
    for match in re.finditer(r"(?<![\w$.])([a-zA-Z_:][\w:]*)\s*(\(?)", stripped):
        word, call = match.group(1), match.group(2)
        if call or word in PROMQL_WORDS or word.startswith("__"):
            continue
        names.add(word)
    return names


def check_metric_names(where: str, expressions: list[str], known: set[str]) -> set[str]:
    used = set()
    for expr in expressions:
        for name in metric_names_in(expr):
            used.add(name)
            if name not in known and name not in EXTERNAL_METRICS:
                fail(where, f"{name} is not a metric funnel-serve exports (in: {expr})")
    return used


def promtool_check_expressions(where: str, expressions: list[str]) -> None:
    """PromQL syntax: promtool check rules on a rules file with one recording rule per expression."""
    rules = {"groups": [{"name": "expressions", "rules": [{"record": f"check:expression_{i}", "expr": e} for i, e in enumerate(expressions)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as file:
        yaml.safe_dump(rules, file)
    result = subprocess.run(["promtool", "check", "rules", file.name], capture_output=True, text=True)
    Path(file.name).unlink()
    if result.returncode != 0:
        fail(where, "PromQL does not parse:\n" + result.stdout + result.stderr)


# ----------------------------------------------------------------------------------------------- Dockerfile


def parse_dockerfile(path: Path) -> list[tuple[str, str, int]]:
    """(instruction, arguments, line) with continuations joined and comments dropped."""
    instructions, pending, start = [], "", 0
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        pending += stripped
        word, _, rest = pending.partition(" ")
        instructions.append((word.upper(), rest.strip(), start))
        pending = ""
    if pending:
        fail(rel(path), "ends inside a line continuation")
    known = {"FROM", "RUN", "COPY", "ADD", "ARG", "ENV", "WORKDIR", "USER", "EXPOSE", "VOLUME", "ENTRYPOINT", "CMD",
             "STOPSIGNAL", "LABEL", "HEALTHCHECK", "SHELL", "ONBUILD"}
    args = {}
    for word, arguments, line in instructions:
        if word not in known:
            fail(f"{rel(path)}:{line}", f"unknown instruction {word}")
        if word == "ARG" and "=" in arguments:
            key, _, value = arguments.partition("=")
            args[key] = value
        # Build-context sources must be in a fresh clone: present and not ignored by git (globs may match nothing).
        if word in ("COPY", "ADD") and not arguments.startswith("--from"):
            for source in arguments.split()[:-1]:
                if source.startswith("--") or any(c in source for c in "*?["):
                    continue
                source = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), source)
                ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", source]).returncode == 0
                if not (ROOT / source).exists() or ignored:
                    fail(f"{rel(path)}:{line}", f"COPY source {source} is not in a fresh clone of the repository")
    if not instructions or instructions[0][0] not in ("FROM", "ARG"):
        fail(rel(path), "must start with FROM (or ARG before FROM)")
    return instructions


def exec_form(path: Path, word: str, arguments: str, line: int) -> list[str]:
    try:
        value = json.loads(arguments)
    except json.JSONDecodeError:
        fail(f"{rel(path)}:{line}", f"{word} must be in exec form (a JSON array), so signals reach the daemon")
        return []
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        fail(f"{rel(path)}:{line}", f"{word} must be a JSON array of strings")
        return []
    return value


def check_dockerfile() -> dict:
    path = DEPLOY / "Dockerfile"
    instructions = parse_dockerfile(path)
    args = {}
    for word, arguments, _ in instructions:
        if word == "ARG" and "=" in arguments:
            key, _, value = arguments.partition("=")
            args[key] = value
    stages = []
    for word, arguments, line in instructions:
        if word == "FROM":
            parts = arguments.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), parts[0])
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append({"image": image, "name": name, "line": line, "body": []})
        elif stages:
            stages[-1]["body"].append((word, arguments, line))
    where = rel(path)
    if len(stages) < 2:
        fail(where, "must be multi-stage (a build stage and a runtime stage)")
        return {}
    build, runtime = stages[0], stages[-1]
    if not re.fullmatch(r"swift:6\.\d+(\.\d+)?-bookworm(-slim)?", build["image"]):
        fail(where, f"build stage must use the Swift 6 toolchain image on bookworm, not {build['image']}")
    if runtime["image"] != "debian:bookworm-slim":
        fail(where, f"runtime stage must be debian:bookworm-slim, not {runtime['image']}")
    build_runs = " ".join(a for w, a, _ in build["body"] if w == "RUN")
    for product in ("funnel-serve", "funnel-train"):
        if not re.search(rf"swift build -c release --static-swift-stdlib --product {product}\b", build_runs):
            fail(where, f"build stage must run `swift build -c release --static-swift-stdlib --product {product}`")
    runtime_runs = " ".join(a for w, a, _ in runtime["body"] if w == "RUN")
    installed = set()
    for match in re.finditer(r"apt-get install ([^&;]*)", runtime_runs):
        installed |= {p for p in match.group(1).split() if not p.startswith("-")}
    if installed != RUNTIME_PACKAGES:
        fail(where, f"runtime stage must install exactly {sorted(RUNTIME_PACKAGES)}, installs {sorted(installed)}")
    if any(p.endswith("-dev") for p in installed):
        fail(where, "runtime stage installs development packages")
    if "--no-install-recommends" not in runtime_runs or "rm -rf /var/lib/apt/lists" not in runtime_runs:
        fail(where, "runtime apt-get must use --no-install-recommends and clean /var/lib/apt/lists")
    body = runtime["body"]
    copies_from_build = [a for w, a, _ in body if w == "COPY" and a.startswith(f"--from={build['name']}")]
    if not any("funnel-serve" in a for a in copies_from_build):
        fail(where, "runtime stage must COPY --from the build stage the funnel-serve binary")
    users = [a for w, a, _ in body if w == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        fail(where, "runtime stage must end as a non-root USER")
    elif not users[-1].split(":")[0].isdigit():
        fail(where, "USER must be numeric (runAsNonRoot can only verify a numeric user)")
    volumes = [exec_form(path, w, a, l) for w, a, l in body if w == "VOLUME"]
    env = {}
    for word, arguments, _ in body:
        if word == "ENV":
            for item in shlex.split(arguments):
                key, _, value = item.partition("=")
                env[key] = value
    models = env.get("FUNNEL_MODELS")
    if not models or [models] not in volumes:
        fail(where, "FUNNEL_MODELS must be set and declared as a VOLUME (the model repository)")
    entrypoint = [exec_form(path, w, a, l) for w, a, l in body if w == "ENTRYPOINT"]
    cmd = [exec_form(path, w, a, l) for w, a, l in body if w == "CMD"]
    if not entrypoint or not cmd:
        fail(where, "runtime stage needs ENTRYPOINT and CMD in exec form")
        return {}
    launch = entrypoint[-1] + cmd[-1]
    if launch[:1] != ["/usr/local/bin/funnel-serve"] or "--host" not in launch or launch[launch.index("--host") + 1] != "0.0.0.0":
        fail(where, "the image must start /usr/local/bin/funnel-serve with --host 0.0.0.0")
    if "--config" not in launch:
        fail(where, "the image must pass --config")
    stopsignal = [a for w, a, _ in body if w == "STOPSIGNAL"]
    if stopsignal and stopsignal[-1] != "SIGTERM":
        fail(where, "STOPSIGNAL must be SIGTERM (the drain)")
    config_copy = [a for w, a, _ in body if w == "COPY" and a.split()[-1] == launch[launch.index("--config") + 1]]
    if not config_copy or config_copy[-1].split()[0] != "deploy/serve.json":
        fail(where, "the --config file must be deploy/serve.json copied into the image")
    ok(f"{where}: multi-stage ({build['image']} → {runtime['image']}), static Swift stdlib, runtime libs "
       f"{sorted(installed)}, USER {users[-1] if users else '?'}, VOLUME {models}, exec-form ENTRYPOINT")
    for other in sorted(DEPLOY.glob("*.Dockerfile")):
        other_instructions = parse_dockerfile(other)
        if not any(w == "FROM" for w, _, _ in other_instructions):
            fail(rel(other), "has no FROM")
        ok(f"{rel(other)}: parses ({len(other_instructions)} instructions)")
    return {"entrypoint": entrypoint[-1], "cmd": cmd[-1], "env": env, "user": users[-1] if users else None}


def check_binary(binary: Path) -> None:
    """The libraries a release binary built like the image's needs are in the runtime stage (or the base)."""
    result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
    if result.returncode != 0:
        fail(str(binary), f"ldd failed: {result.stderr.strip()}")
        return
    packages, libraries = set(), []
    for line in result.stdout.splitlines():
        match = re.match(r"\s*(\S+) => (\S+)", line)
        if not match:
            continue
        name, resolved = match.groups()
        libraries.append(name)
        if resolved == "not":
            fail(str(binary), f"{name} is not found")
            continue
        if re.match(r"lib(swift|Foundation|dispatch|BlocksRuntime|icu)", name):
            fail(str(binary), f"links {name} dynamically: build with --static-swift-stdlib")
        owner = subprocess.run(["dpkg", "-S", str(Path(resolved).resolve())], capture_output=True, text=True)
        if owner.returncode != 0:
            owner = subprocess.run(["dpkg", "-S", resolved], capture_output=True, text=True)
        if owner.returncode != 0:
            fail(str(binary), f"no Debian package owns {resolved}")
            continue
        packages.add(owner.stdout.split(":")[0])
    missing = packages - RUNTIME_PACKAGES - SLIM_BASE_PACKAGES
    if missing:
        fail("deploy/Dockerfile", f"the binary needs {sorted(missing)}, which the runtime stage does not install")
    ok(f"ldd {binary.name}: {', '.join(libraries)} → packages {sorted(packages)} ⊆ runtime stage + bookworm-slim")


# ------------------------------------------------------------------------------------------------- systemd


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            sections.setdefault(current, [])
        elif current is not None:
            key, _, value = line.partition("=")
            sections[current].append((key.strip(), value.strip()))
    return sections


def check_systemd(serve_config: dict, image: dict) -> None:
    path = DEPLOY / "systemd/funnel-serve.service"
    where = rel(path)
    service = parse_unit(path).get("Service", [])
    values: dict[str, list[str]] = {}
    for key, value in service:
        values.setdefault(key, []).append(value)

    def one(key):
        return values.get(key, [None])[-1]

    if one("Type") not in ("simple", "notify", "exec"):
        fail(where, "Type must be simple, exec or notify")
    if one("ExecReload") is None or not re.fullmatch(r"(/bin/|/usr/bin/)?kill -(HUP|SIGHUP|s HUP) \$MAINPID", one("ExecReload")):
        fail(where, "ExecReload must send SIGHUP to $MAINPID")
    if one("KillSignal") != "SIGTERM":
        fail(where, "KillSignal must be SIGTERM (the drain)")
    grace = float(serve_config.get("shutdown_grace_seconds", 25))
    stop = one("TimeoutStopSec")
    if stop is None or not stop.isdigit() or int(stop) < grace + 5:
        fail(where, f"TimeoutStopSec must be at least shutdown_grace_seconds ({grace:g}) + 5")
    required = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                "PrivateDevices": "yes", "RestrictSUIDSGID": "yes", "CapabilityBoundingSet": ""}
    for key, value in required.items():
        if one(key) != value:
            fail(where, f"{key}={value} is required")
    if one("User") in (None, "root", "0"):
        fail(where, "User must be a non-root account")
    environment = {}
    for line in values.get("Environment", []):
        for item in shlex.split(line):
            key, _, value = item.partition("=")
            environment[key] = value
    models = environment.get("FUNNEL_MODELS")
    if not models or models not in " ".join(values.get("ReadOnlyPaths", [])).split():
        fail(where, "FUNNEL_MODELS must be set and listed in ReadOnlyPaths")
    exec_start = shlex.split(one("ExecStart") or "")
    if exec_start[:1] != [image.get("entrypoint", ["?"])[0]]:
        fail(where, f"ExecStart must start the binary the image installs ({image.get('entrypoint', ['?'])[0]})")
    config = exec_start[exec_start.index("--config") + 1] if "--config" in exec_start else None
    image_cmd = image.get("cmd", [])
    image_config = image_cmd[image_cmd.index("--config") + 1] if "--config" in image_cmd else None
    if config != image_config:
        fail(where, f"ExecStart --config must be {image_config} like the image's")
    ok(f"{where}: Type={one('Type')}, ExecReload SIGHUP, KillSignal=SIGTERM, TimeoutStopSec={stop} ≥ grace "
       f"{grace:g}+5, hardening, models read-only at {models}")


# ---------------------------------------------------------------------------------------------- Kubernetes


def k8s_objects(documents: dict[Path, list]) -> list[tuple[Path, dict]]:
    return [(p, d) for p, docs in documents.items() if K8S in p.parents for d in docs]


def find(objects, kind, name):
    for path, obj in objects:
        if obj.get("kind") == kind and obj.get("metadata", {}).get("name") == name:
            return path, obj
    fail("deploy/kubernetes", f"no {kind} {name}")
    return None, {}


def quantity_cores(value: str) -> float:
    return float(value[:-1]) / 1000 if str(value).endswith("m") else float(value)


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def check_kubernetes(documents: dict[Path, list], image: dict) -> None:
    objects = k8s_objects(documents)
    for path, obj in objects:
        if obj.get("kind") != "Namespace" and obj.get("metadata", {}).get("namespace") != NAMESPACE:
            fail(rel(path), f"{obj.get('kind')} {obj.get('metadata', {}).get('name')} must be in namespace {NAMESPACE}")
    path, deployment = find(objects, "Deployment", "funnel-serve")
    if not deployment:
        return
    where = rel(path)
    pod = deployment["spec"]["template"]["spec"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    if not selects(deployment["spec"]["selector"]["matchLabels"], labels):
        fail(where, "selector does not match the pod labels")
    container = next(c for c in pod["containers"] if c["name"] == "funnel-serve")
    # Same launch as the image.
    if container.get("command") not in (None, image.get("entrypoint")):
        fail(where, "command must be the image's ENTRYPOINT (or absent)")
    if container.get("args") != image.get("cmd"):
        fail(where, f"args {container.get('args')} must equal the image's CMD {image.get('cmd')}")
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    for key, value in image.get("env", {}).items():
        if env.get(key) != value:
            fail(where, f"env {key}={env.get(key)!r} must equal the image's ENV {key}={value!r}")
    port = int(env.get("FUNNEL_PORT", image.get("env", {}).get("FUNNEL_PORT", 8080)))
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    if ports.get("http") != port:
        fail(where, f"container port 'http' must be FUNNEL_PORT ({port})")
    # Probes.
    for probe, path_expected in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz")):
        http_get = container.get(probe, {}).get("httpGet", {})
        if http_get.get("path") != path_expected or http_get.get("port") not in ("http", port):
            fail(where, f"{probe} must GET {path_expected} on the http port")
    # Readiness: gRPC health on the serving port (its SERVING is /readyz's 200), or GET /readyz.
    readiness = container.get("readinessProbe", {})
    grpc_probe, http_get = readiness.get("grpc"), readiness.get("httpGet", {})
    if grpc_probe is not None:
        if grpc_probe.get("port") != port or grpc_probe.get("service", "") not in ("", "inference.GRPCInferenceService"):
            fail(where, f"the grpc readinessProbe must check the server on port {port}")
    elif http_get.get("path") != "/readyz" or http_get.get("port") not in ("http", port):
        fail(where, "readinessProbe must be gRPC health or GET /readyz on the http port")
    # Configuration and the shutdown timeline.
    config_path = image["cmd"][image["cmd"].index("--config") + 1]
    mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
    config_mount = mounts.get(str(Path(config_path).parent))
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    serve_config = {}
    if not config_mount:
        fail(where, f"nothing is mounted at {Path(config_path).parent} for --config {config_path}")
    else:
        configmap_name = volumes.get(config_mount["name"], {}).get("configMap", {}).get("name")
        cm_path, configmap = find(objects, "ConfigMap", configmap_name)
        text = configmap.get("data", {}).get(Path(config_path).name)
        if text is None:
            fail(where, f"ConfigMap {configmap_name} has no {Path(config_path).name}")
        else:
            try:
                serve_config = json.loads(text)
                check_serve_config(f"{rel(cm_path)} {Path(config_path).name}", serve_config)
            except json.JSONDecodeError as error:
                fail(rel(cm_path), f"serve.json is not JSON: {error}")
    grace = float(serve_config.get("shutdown_grace_seconds", 25))
    pre_stop = container.get("lifecycle", {}).get("preStop", {})
    sleep = pre_stop.get("sleep", {}).get("seconds")
    if sleep is None:
        fail(where, "preStop must sleep (lifecycle.preStop.sleep.seconds) so endpoints drop the pod before SIGTERM")
        sleep = 0
    termination = pod.get("terminationGracePeriodSeconds", 30)
    if not termination > sleep + grace:
        fail(where, f"terminationGracePeriodSeconds ({termination}) must exceed preStop sleep ({sleep}) + shutdown_grace_seconds ({grace:g})")
    # Resources and batch threads.
    requests = container.get("resources", {}).get("requests", {})
    limits = container.get("resources", {}).get("limits", {})
    if "cpu" not in requests or "memory" not in requests or "memory" not in limits:
        fail(where, "resources need cpu and memory requests and a memory limit")
    else:
        cores = quantity_cores(requests["cpu"])
        threads = serve_config.get("num_batch_threads", 0)
        if cores != int(cores) or threads != int(cores):
            fail(where, f"num_batch_threads ({threads}) must equal the whole-core CPU request ({requests['cpu']})")
    # Security.
    security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    if not security.get("runAsNonRoot") or security.get("runAsUser", 0) == 0:
        fail(where, "must run as non-root (runAsNonRoot, runAsUser ≠ 0)")
    if security.get("allowPrivilegeEscalation") is not False or security.get("readOnlyRootFilesystem") is not True:
        fail(where, "allowPrivilegeEscalation: false and readOnlyRootFilesystem: true are required")
    image_user = (image.get("user") or "").split(":")[0]
    if image_user.isdigit() and security.get("runAsUser") != int(image_user):
        fail(where, f"runAsUser must be the image's USER ({image_user})")
    models = env.get("FUNNEL_MODELS", image.get("env", {}).get("FUNNEL_MODELS"))
    if not mounts.get(models, {}).get("readOnly"):
        fail(where, f"the model repository must be mounted read-only at {models}")
    else:
        claim = volumes.get(mounts[models]["name"], {}).get("persistentVolumeClaim", {}).get("claimName")
        if claim:
            find(objects, "PersistentVolumeClaim", claim)
            # The publish and rollback Jobs write where the pods read, for the model the pods serve.
            for job_path, job in [(p, o) for p, o in objects if o.get("kind") == "Job"]:
                job_pod = job["spec"]["template"]["spec"]
                job_volumes = {v["name"]: v for v in job_pod.get("volumes", [])}
                for job_container in job_pod["containers"]:
                    job_env = {e["name"]: e.get("value") for e in job_container.get("env", [])}
                    job_mounts = {m["mountPath"]: m for m in job_container.get("volumeMounts", [])}
                    mount = job_mounts.get(models)
                    if not mount or job_volumes.get(mount["name"], {}).get("persistentVolumeClaim", {}).get("claimName") != claim:
                        fail(rel(job_path), f"{job_container['name']} must mount the claim {claim} at {models}")
                    if job_env.get("MODEL_NAME") != serve_config.get("model_name"):
                        fail(rel(job_path), f"MODEL_NAME must be the served model_name ({serve_config.get('model_name')})")
                    if job_container.get("image") != container.get("image"):
                        fail(rel(job_path), "must run the funnel-serve image (it has funnel-train for verify)")
    ok(f"{where}: launch = image's, probes /healthz and gRPC health, terminationGracePeriodSeconds {termination} > "
       f"preStop {sleep} + grace {grace:g}, cpu {requests.get('cpu')} = num_batch_threads, non-root, models read-only")

    # Services, HPA, PDB select or target the Deployment.
    services = [(p, o) for p, o in objects if o.get("kind") == "Service"]
    for service_path, service in services:
        selector = service["spec"].get("selector", {})
        target_labels = labels if selects(selector, labels) else None
        if target_labels is None:
            continue
        for service_port in service["spec"]["ports"]:
            if service_port.get("targetPort") not in ports and service_port.get("targetPort") not in ports.values():
                fail(rel(service_path), f"targetPort {service_port.get('targetPort')} is not a funnel-serve container port")
    headless = [o for _, o in services if o["spec"].get("clusterIP") == "None" and selects(o["spec"].get("selector", {}), labels)]
    if not any(not o["spec"].get("publishNotReadyAddresses", False) for o in headless):
        fail("deploy/kubernetes", "Envoy needs a headless Service over the ready funnel-serve pods")
    hpa_path, hpa = find(objects, "HorizontalPodAutoscaler", "funnel-serve")
    if hpa:
        target = hpa["spec"]["scaleTargetRef"]
        if (target.get("kind"), target.get("name")) != ("Deployment", "funnel-serve"):
            fail(rel(hpa_path), "must scale the funnel-serve Deployment")
        if not any(m.get("type") == "Resource" and m["resource"]["name"] == "cpu" for m in hpa["spec"].get("metrics", [])):
            fail(rel(hpa_path), "must scale on CPU")
        if not 2 <= hpa["spec"].get("minReplicas", 1) <= hpa["spec"]["maxReplicas"]:
            fail(rel(hpa_path), "minReplicas must be ≥ 2 and ≤ maxReplicas")
    pdb_path, pdb = find(objects, "PodDisruptionBudget", "funnel-serve")
    if pdb:
        if not selects(pdb["spec"]["selector"]["matchLabels"], labels):
            fail(rel(pdb_path), "selector does not match the funnel-serve pods")
        if hpa and pdb["spec"].get("maxUnavailable", 0) >= hpa["spec"].get("minReplicas", 1):
            fail(rel(pdb_path), "maxUnavailable must be below the HPA's minReplicas")
    ok("deploy/kubernetes: Services target the http port, headless Service for Envoy, HPA on CPU, PDB selects the pods")


def check_envoy_kubernetes(documents: dict[Path, list]) -> None:
    objects = k8s_objects(documents)
    path, configmap = find(objects, "ConfigMap", "funnel-envoy-config")
    envoy_text = (DEPLOY / "envoy/envoy.yaml").read_text()
    if configmap and configmap.get("data", {}).get("envoy.yaml") != envoy_text:
        fail(rel(path), "ConfigMap funnel-envoy-config differs from deploy/envoy/envoy.yaml: run "
             "`python3 scripts/validate_deploy.py --sync-envoy-configmap`")
    envoy = yaml.safe_load(envoy_text)
    cluster = next((c for c in envoy["static_resources"]["clusters"] if c["name"] == "funnel_serve"), {})
    address = cluster.get("load_assignment", {}).get("endpoints", [{}])[0].get("lb_endpoints", [{}])[0] \
        .get("endpoint", {}).get("address", {}).get("socket_address", {})
    host = address.get("address", "")
    match = re.fullmatch(r"([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local", host)
    if not match:
        fail("deploy/envoy/envoy.yaml", f"funnel_serve must resolve a headless Service name, not {host!r}")
        return
    service_path, service = find(objects, "Service", match.group(1))
    if service:
        if service["metadata"]["namespace"] != match.group(2) or service["spec"].get("clusterIP") != "None":
            fail("deploy/envoy/envoy.yaml", f"{host} must be the headless Service {match.group(1)} in {match.group(2)}")
        if service["spec"].get("publishNotReadyAddresses"):
            fail(rel(service_path), "the Service Envoy resolves must publish ready pods only")
        if address.get("port_value") not in [p["port"] for p in service["spec"]["ports"]]:
            fail("deploy/envoy/envoy.yaml", f"port {address.get('port_value')} is not a port of {match.group(1)}")
    deployment_path, deployment = find(objects, "Deployment", "funnel-envoy")
    if deployment:
        pod = deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        container = pod["containers"][0]
        args = container.get("args", [])
        config_file = args[args.index("-c") + 1] if "-c" in args else None
        mounted = [m for m in container.get("volumeMounts", [])
                   if config_file and config_file == f"{m['mountPath']}/envoy.yaml"
                   and volumes.get(m["name"], {}).get("configMap", {}).get("name") == "funnel-envoy-config"]
        if not mounted:
            fail(rel(deployment_path), "Envoy must read /…/envoy.yaml from the funnel-envoy-config ConfigMap (-c)")
        listener_ports = {l["address"]["socket_address"]["port_value"] for l in envoy["static_resources"]["listeners"]}
        for port in container.get("ports", []):
            if port["containerPort"] not in listener_ports:
                fail(rel(deployment_path), f"container port {port['containerPort']} is no Envoy listener")
    ok(f"deploy/kubernetes/envoy.yaml: ConfigMap = deploy/envoy/envoy.yaml, Envoy resolves the headless Service {host}")


def sync_envoy_configmap() -> None:
    path = K8S / "envoy.yaml"
    text = (DEPLOY / "envoy/envoy.yaml").read_text()
    header = [
        "# The Envoy layer (deploy/envoy/envoy.yaml) in Kubernetes: its configuration, a Deployment, the Service clients",
        "# use (funnel:8080) and a PDB. The ConfigMap below is deploy/envoy/envoy.yaml verbatim; regenerate it with",
        "# `python3 scripts/validate_deploy.py --sync-envoy-configmap` after editing that file (validation compares them).",
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        "  name: funnel-envoy-config",
        f"  namespace: {NAMESPACE}",
        "  labels:",
        "    app.kubernetes.io/name: funnel-envoy",
        "    app.kubernetes.io/part-of: funnel",
        "data:",
        "  envoy.yaml: |",
    ]
    body = ["    " + line if line else "" for line in text.splitlines()]
    existing = path.read_text().split("\n---\n", 1)
    rest = existing[1] if len(existing) == 2 else ""
    path.write_text("\n".join(header + body) + "\n---\n" + rest)
    print(f"wrote {rel(path)}")


# --------------------------------------------------------------------------------------------------- Envoy


def check_envoy(documents: dict[Path, list]) -> None:
    path = DEPLOY / "envoy/envoy.yaml"
    where = rel(path)
    config = documents.get(path, [None])[0]
    if not config:
        fail(where, "missing or empty")
        return
    # 1. Envoy's v3 API: unknown fields, wrong types, bad enum values and bad durations fail, also inside the
    #    typed_config of every extension. YAML keys are proto field names (envoy accepts those and JSON names).
    import betterproto2

    original = betterproto2.safe_snake_case

    def field_name(key: str) -> str:
        if key == key.lower():
            return key + "_" if keyword.iskeyword(key) else key
        return original(key)

    betterproto2.safe_snake_case = field_name
    from envoy_data_plane.envoy.config.bootstrap.v3 import Bootstrap

    def type_urls(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "@type":
                    yield value
                else:
                    yield from type_urls(value)
        elif isinstance(node, list):
            for value in node:
                yield from type_urls(value)

    for url in sorted(set(type_urls(config))):
        module = "envoy_data_plane." + url.split("/", 1)[1].rsplit(".", 1)[0]
        try:
            importlib.import_module(module)
        except ImportError:
            fail(where, f"unknown extension type {url}")
    try:
        Bootstrap.from_dict(config)
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        fail(where, f"not a valid Envoy v3 Bootstrap: {type(error).__name__}: {error}")
        return
    # 2. What the scale-out design needs.
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    cluster = clusters.get("funnel_serve")
    if not cluster:
        fail(where, "no cluster funnel_serve")
        return
    if cluster.get("lb_policy") != "LEAST_REQUEST":
        fail(where, "funnel_serve must balance requests with lb_policy LEAST_REQUEST")
    if cluster.get("type") not in ("STRICT_DNS", "EDS"):
        fail(where, "funnel_serve must discover every pod (STRICT_DNS on a headless Service, or EDS)")
    options = cluster.get("typed_extension_protocol_options", {}).get("envoy.extensions.upstreams.http.v3.HttpProtocolOptions", {})
    if "http2_protocol_options" not in options.get("explicit_http_config", {}):
        fail(where, "funnel_serve must speak HTTP/2 upstream (explicit_http_config.http2_protocol_options)")
    checks = cluster.get("health_checks", [])
    if not any(c.get("http_health_check", {}).get("path") == "/readyz" for c in checks):
        fail(where, "funnel_serve needs an active HTTP health check on /readyz")
    if not any(c.get("http_health_check", {}).get("codec_client_type") == "HTTP2" for c in checks):
        fail(where, "the health check should use the HTTP2 codec, like the traffic")
    routes_to = set()
    for listener in config["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for network_filter in chain["filters"]:
                for vhost in network_filter.get("typed_config", {}).get("route_config", {}).get("virtual_hosts", []):
                    for route in vhost["routes"]:
                        if "route" in route:
                            routes_to.add(route["route"]["cluster"])
    for name in routes_to - set(clusters):
        fail(where, f"a route names cluster {name}, which is not defined")
    if "funnel_serve" not in routes_to:
        fail(where, "no route sends traffic to funnel_serve")
    ports = [l["address"]["socket_address"]["port_value"] for l in config["static_resources"]["listeners"]]
    if len(ports) != len(set(ports)):
        fail(where, "two listeners share a port")
    ok(f"{where}: a valid Envoy v3 Bootstrap (envoy-data-plane); funnel_serve: HTTP/2, LEAST_REQUEST, "
       f"health check /readyz over HTTP/2")


# ------------------------------------------------------------------------------------- Prometheus, Grafana


def check_alerts(documents: dict[Path, list], known: set[str]) -> set[str]:
    path = DEPLOY / "prometheus/funnel-alerts.yml"
    rules = documents.get(path, [{}])[0]
    expressions, alerts = [], []
    for group in rules.get("groups", []):
        for rule in group["rules"]:
            expressions.append(rule["expr"])
            if "alert" in rule:
                alerts.append(rule["alert"])
                if "severity" not in rule.get("labels", {}) or "summary" not in rule.get("annotations", {}):
                    fail(rel(path), f"{rule['alert']} needs a severity label and a summary")
    used = check_metric_names(rel(path), expressions, known)
    wanted = {"readiness": "funnel_model_info", "p99": "funnel_request_duration_seconds_bucket",
              "rejections": "funnel_rejections_total", "reload failures": "funnel_model_reloads_total"}
    for what, metric in wanted.items():
        if metric not in used:
            fail(rel(path), f"no alert on {what} ({metric})")
    ok(f"{rel(path)}: {len(alerts)} alerts on readiness, p99, rejections, reload failures; metric names exist")
    return used


def check_dashboard(documents: dict[Path, list], known: set[str]) -> None:
    path = DEPLOY / "grafana/funnel-dashboard.json"
    where = rel(path)
    dashboard = documents.get(path, [{}])[0]
    for key in ("uid", "title", "panels", "schemaVersion", "templating"):
        if key not in dashboard:
            fail(where, f"missing {key}")
    variables = {v["name"] for v in dashboard.get("templating", {}).get("list", [])}
    expressions, ids, cells = [], set(), set()
    panel_kinds = {"row", "timeseries", "stat", "table", "gauge", "bargauge", "heatmap", "text"}
    for panel in dashboard.get("panels", []):
        title = panel.get("title", "?")
        if panel.get("type") not in panel_kinds:
            fail(where, f"panel {title!r} has unknown type {panel.get('type')}")
        if panel.get("id") in ids:
            fail(where, f"panel id {panel.get('id')} is used twice")
        ids.add(panel.get("id"))
        grid = panel.get("gridPos", {})
        if not all(isinstance(grid.get(k), int) for k in "xywh") or grid["x"] + grid["w"] > 24:
            fail(where, f"panel {title!r} has a bad gridPos {grid}")
            continue
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                if (x, y) in cells:
                    fail(where, f"panel {title!r} overlaps another")
                    break
                cells.add((x, y))
            else:
                continue
            break
        if panel.get("type") == "row":
            continue
        if panel.get("datasource", {}).get("uid") != "${datasource}":
            fail(where, f"panel {title!r} must use the ${{datasource}} variable")
        targets = panel.get("targets", [])
        if not targets:
            fail(where, f"panel {title!r} has no query")
        refs = [t.get("refId") for t in targets]
        if len(refs) != len(set(refs)):
            fail(where, f"panel {title!r} repeats a refId")
        for target in targets:
            expr = target.get("expr", "")
            for variable in re.findall(r"\$(\w+)", expr):
                if variable not in variables and not variable.startswith("__"):
                    fail(where, f"panel {title!r} uses undefined variable ${variable}")
            expressions.append(expr)
    used = check_metric_names(where, expressions, known)
    wanted = {
        "request rate by code": "funnel_requests_total", "latency": "funnel_request_duration_seconds_bucket",
        "queue wait": "funnel_queue_wait_seconds_bucket", "kernel time": "funnel_kernel_duration_seconds_bucket",
        "batch rows": "funnel_batch_rows_bucket", "rejections": "funnel_rejections_total",
        "reloads": "funnel_model_reloads_total", "model version": "funnel_model_info",
        "open connections": "funnel_open_connections", "open streams": "funnel_open_streams",
    }
    for what, metric in wanted.items():
        if metric not in used:
            fail(where, f"no panel for {what} ({metric})")
    # PromQL syntax, with Grafana's variables replaced by values.
    concrete = [e.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$job", ".*").replace("$instance", ".*")
                for e in expressions]
    promtool_check_expressions(where, concrete)
    ok(f"{where}: {len(ids)} panels, no overlap, {len(expressions)} queries parse (promtool) and name exported metrics")


# -------------------------------------------------------------------------------------------------- main


# --------------------------------------------------------------------------------------------- training (MPIJob)

MPIJOB_SPEC_KEYS = {"slotsPerWorker", "runPolicy", "mpiReplicaSpecs", "sshAuthMountPath", "launcherCreationPolicy",
                    "mpiImplementation", "runLauncherAsWorker"}
RUN_POLICY_KEYS = {"cleanPodPolicy", "ttlSecondsAfterFinished", "activeDeadlineSeconds", "backoffLimit",
                   "schedulingPolicy", "suspend", "managedBy"}
REPLICA_KEYS = {"replicas", "template", "restartPolicy"}


def train_command_flags() -> set[str]:
    """The options `funnel-train train` takes: its own and its option groups' (`@Option … var name` → --name)."""
    flags = set()
    for name in ("TrainCommand", "ThreadOptions", "ReportOptions"):
        text = (ROOT / "Sources" / "FunnelTrain" / f"{name}.swift").read_text()
        if name == "TrainCommand":
            text = text[:text.index("func run(")]
        for match in re.finditer(r"@(?:Option|Flag)\b.*?\bvar (\w+)", text, re.S):
            flags.add("--" + re.sub(r"([A-Z])", lambda m: "-" + m.group(1).lower(), match.group(1)))
    return flags


def check_mpijob(documents: dict[Path, list]) -> list[dict]:
    """kubernetes-validate has no schema for the MPI operator's CRD: the MPIJob is checked here by structure (the
    v2beta1 fields, one launcher, the workers, mpirun's rank count against workers × slots, funnel-train train with
    flags the CLI has, a shared claim on every worker); its pod templates go to kubernetes-validate as PodTemplates.
    Returns the objects for kubernetes-validate (the templates and the other objects of training/)."""
    to_validate = []
    jobs = []
    for path, docs in documents.items():
        if K8S / "training" not in path.parents:
            continue
        for doc in docs:
            if doc.get("kind") == "MPIJob":
                jobs.append((path, doc))
            else:
                to_validate.append(doc)
    if not jobs:
        fail("deploy/kubernetes/training", "no MPIJob")
    known_flags = train_command_flags()
    for path, job in jobs:
        where = f"{rel(path)} MPIJob {job.get('metadata', {}).get('name')}"
        if job.get("apiVersion") != "kubeflow.org/v2beta1":
            fail(where, f"apiVersion must be kubeflow.org/v2beta1, not {job.get('apiVersion')}")
        if set(job) - {"apiVersion", "kind", "metadata", "spec"}:
            fail(where, f"unknown top-level keys {sorted(set(job) - {'apiVersion', 'kind', 'metadata', 'spec'})}")
        if job.get("metadata", {}).get("namespace") != NAMESPACE:
            fail(where, f"must be in namespace {NAMESPACE}")
        spec = job.get("spec", {})
        if set(spec) - MPIJOB_SPEC_KEYS:
            fail(where, f"unknown spec keys {sorted(set(spec) - MPIJOB_SPEC_KEYS)}")
        if set(spec.get("runPolicy", {})) - RUN_POLICY_KEYS:
            fail(where, f"unknown runPolicy keys {sorted(set(spec.get('runPolicy', {})) - RUN_POLICY_KEYS)}")
        if spec.get("mpiImplementation", "OpenMPI") != "OpenMPI":
            fail(where, "mpiImplementation must be OpenMPI (funnel-train links OpenMPI)")
        replicas = spec.get("mpiReplicaSpecs", {})
        if set(replicas) != {"Launcher", "Worker"}:
            fail(where, f"mpiReplicaSpecs must be Launcher and Worker, not {sorted(replicas)}")
            continue
        for role, replica in replicas.items():
            if set(replica) - REPLICA_KEYS:
                fail(where, f"{role}: unknown keys {sorted(set(replica) - REPLICA_KEYS)}")
            to_validate.append({"apiVersion": "v1", "kind": "PodTemplate",
                                "metadata": {"name": f"{job['metadata']['name']}-{role.lower()}",
                                             "namespace": NAMESPACE},
                                "template": replica.get("template", {})})
        launcher, worker = replicas["Launcher"], replicas["Worker"]
        if launcher.get("replicas", 1) != 1:
            fail(where, "the Launcher must have 1 replica")
        workers = worker.get("replicas", 0)
        slots = spec.get("slotsPerWorker", 1)
        if not isinstance(workers, int) or workers < 1:
            fail(where, "the Worker needs at least 1 replica")
            continue
        containers = launcher["template"]["spec"]["containers"]
        command = containers[0].get("command", []) + containers[0].get("args", [])
        if command[:1] != ["mpirun"] or "-np" not in command:
            fail(where, "the launcher must run mpirun -np N")
            continue
        ranks = int(command[command.index("-np") + 1])
        if ranks != workers * slots:
            fail(where, f"mpirun -np {ranks} must be the workers × slotsPerWorker ({workers} × {slots})")
        train = [i for i, word in enumerate(command) if word.endswith("funnel-train")]
        if not train or command[train[0] + 1:train[0] + 2] != ["train"]:
            fail(where, "mpirun must start funnel-train train")
            continue
        words = command[train[0] + 2:]
        flags = [w for w in words if w.startswith("--")]
        if set(flags) - known_flags:
            fail(where, f"funnel-train train has no {sorted(set(flags) - known_flags)}")
        for required in ("--data", "--state"):
            if required not in flags:
                fail(where, f"funnel-train train needs {required}")
        images = {c["image"] for r in replicas.values() for c in r["template"]["spec"]["containers"]}
        if len(images) != 1:
            fail(where, f"the launcher and the workers must run one image, not {sorted(images)}")
        # Every rank reads the data and rank 0 writes the state: the paths must be on a volume of every worker.
        pod = worker["template"]["spec"]
        mounts = [m["mountPath"] for c in pod["containers"] for m in c.get("volumeMounts", [])]
        for flag in ("--data", "--state"):
            value = words[words.index(flag) + 1] if flag in words else ""
            if not any(value.startswith(m.rstrip("/") + "/") for m in mounts):
                fail(where, f"{flag} {value} is on no volume the workers mount")
        claims = [v["persistentVolumeClaim"]["claimName"] for v in pod.get("volumes", []) if "persistentVolumeClaim" in v]
        for claim in claims:
            found = [d for d in to_validate if d.get("kind") == "PersistentVolumeClaim"
                     and d.get("metadata", {}).get("name") == claim]
            if not found or "ReadWriteMany" not in found[0].get("spec", {}).get("accessModes", []):
                fail(where, f"claim {claim} must be a ReadWriteMany PersistentVolumeClaim in training/ (every worker mounts it)")
        ok(f"{where}: v2beta1 structure, 1 launcher running mpirun -np {ranks} funnel-train train over {workers} "
           f"workers × {slots} slots, flags known to the CLI, data and state on claims {claims}")
    return to_validate


def validate_kubernetes_objects(objects: list[dict]) -> None:
    """The MPIJob's pod templates and training/'s other objects against the Kubernetes schemas (strict)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
        yaml.safe_dump_all(objects, file)
        file.flush()
        for version in ("1.30.0", "1.37.0"):
            result = subprocess.run(["kubernetes-validate", "--strict", "--quiet", "-k", version, file.name],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                fail("deploy/kubernetes/training", f"kubernetes-validate {version}: {result.stdout}{result.stderr}")
            else:
                ok(f"deploy/kubernetes/training: {len(objects)} objects (the MPIJob's pod templates, the claim) valid "
                   f"against Kubernetes {version} (strict)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", type=Path, help="a funnel-serve built like the image's (ldd check)")
    parser.add_argument("--sync-envoy-configmap", action="store_true", help="rewrite deploy/kubernetes/envoy.yaml's ConfigMap")
    options = parser.parse_args()
    if options.sync_envoy_configmap:
        sync_envoy_configmap()
        return 0
    documents = load_all()
    serve_config = json.loads((DEPLOY / "serve.json").read_text())
    check_serve_config("deploy/serve.json", serve_config)
    known = daemon_metrics()
    image = check_dockerfile()
    if options.binary:
        check_binary(options.binary)
    check_systemd(serve_config, image)
    check_kubernetes(documents, image)
    validate_kubernetes_objects(check_mpijob(documents))
    check_envoy_kubernetes(documents)
    check_envoy(documents)
    check_alerts(documents, known)
    check_dashboard(documents, known)
    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  FAIL {problem}", file=sys.stderr)
        return 1
    print(f"validate_deploy.py: {len(passed)} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
