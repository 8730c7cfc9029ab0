#!/usr/bin/env python3
"""End-to-end serving benchmark, back to back on one machine (scripts/bench_serve.sh sets up and calls it).

1. Transport: h2load against funnel-serve's GET /healthz vs nghttpd serving a file of the same size, with the
   same h2load settings.
2. Scoring: h2load -c 16 -m 10 against POST /v1/score with 100 candidates per request on the benchmark model,
   vs the kernel-only benchmark (funnel-bench kernel) on the same model: end-to-end candidates/s as a ratio.
Prints req/s, p50/p99 latency (from h2load's per-request log) and the ratios.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import funnel_checkpoint  # noqa: E402  (the independent checkpoint reader beside this script)


def percentiles(log_path: Path) -> tuple[float, float, int]:
    """p50 and p99 in milliseconds and the count of non-2xx responses, from an h2load --log-file."""
    latencies, errors = [], 0
    for line in log_path.read_text().splitlines():
        _, status, micros = line.split("\t")[:3]
        latencies.append(int(micros) / 1000)
        errors += not status.startswith("2")
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    return pick(0.50), pick(0.99), errors


def h2load(url: str, args: list[str], workdir: Path, name: str, pin: list[str] = []) -> dict:
    log = workdir / f"{name}.log"
    out = subprocess.run([*pin, "h2load", *args, f"--log-file={log}", url], capture_output=True, text=True,
                         check=True).stdout
    rate = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
    done = re.search(r"(\d+) succeeded, (\d+) failed, (\d+) errored", out)
    p50, p99, non2xx = percentiles(log)
    return {"req_per_s": rate, "succeeded": int(done.group(1)), "failed": int(done.group(2)),
            "errored": int(done.group(3)), "non_2xx": non2xx, "p50_ms": p50, "p99_ms": p99}


def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        probe = ["curl", "-sf", "--http2-prior-knowledge", "-o", "/dev/null", url]
        if subprocess.run(probe, capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    raise SystemExit(f"{url} never became ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(REPO / ".build/release"), help="directory with funnel-serve, funnel-bench")
    parser.add_argument("--requests", type=int, default=200_000, help="h2load requests for the transport run")
    parser.add_argument("--score-seconds", type=int, default=10, help="duration of the scoring run")
    args = parser.parse_args()
    binaries = Path(args.bin)
    work = Path(tempfile.mkdtemp(prefix="funnel-bench-serve-"))
    results = {}
    servers: list[subprocess.Popen] = []

    def start(command: list[str]) -> subprocess.Popen:  # every server is stopped on the way out
        servers.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
        return servers[-1]

    try:
        # --- transport: /healthz vs nghttpd, same body size, same h2load settings; each server pinned to CPU 1
        # and h2load to CPU 0, so neither competes with the load generator (nghttpd is single-threaded) ---
        serve = start(["taskset", "-c", "1", str(binaries / "funnel-serve"), "--port", "18080", "--models",
                       str(REPO / "models"), "--log-level", "error"])
        wait_ready("http://127.0.0.1:18080/healthz")
        body = subprocess.run(["curl", "-s", "http://127.0.0.1:18080/healthz"], capture_output=True).stdout
        (work / "docroot").mkdir()
        (work / "docroot" / "healthz").write_bytes(body)
        settings = ["-n", str(args.requests), "-c", "16", "-m", "10", "-t", "1"]
        on_cpu0 = ["taskset", "-c", "0"]
        results["funnel_healthz"] = h2load("http://127.0.0.1:18080/healthz", settings, work, "funnel-healthz", on_cpu0)
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
        nghttpd = start(["taskset", "-c", "1", "nghttpd", "--no-tls", "-d", str(work / "docroot"), "18081"])
        wait_ready("http://127.0.0.1:18081/healthz")
        results["nghttpd_healthz"] = h2load("http://127.0.0.1:18081/healthz", settings, work, "nghttpd-healthz",
                                            on_cpu0)
        nghttpd.terminate()
        nghttpd.wait(30)

        # --- scoring: the benchmark model, end to end vs kernel only ---
        kernel = json.loads(subprocess.run(
            [str(binaries / "funnel-bench"), "kernel", "--spec", str(REPO / "config/models/benchmark.json"),
             "--out", str(work / "bench"), "--batches", "1000", "--seconds", "1"],
            capture_output=True, text=True, check=True).stdout)
        results["kernel_candidates_per_s"] = kernel["batches"][0]["end_to_end_candidates_per_s"]
        repository = work / "models" / "benchmark" / "1"
        repository.mkdir(parents=True)
        shutil.copy(work / "bench" / "model.fckpt", repository / "model.fckpt")
        header, _ = funnel_checkpoint.load(str(repository / "model.fckpt"))
        rng = random.Random(7)
        fields = header["features"]["fields"]
        shared = {f["name"]: rng.randrange(1 << 20) for f in fields if f["group"] in ("user", "context")}
        user = {k: v for k, v in shared.items() if next(f for f in fields if f["name"] == k)["group"] == "user"}
        context = {k: v for k, v in shared.items() if k not in user}
        candidates = [{"id": f"item-{i}", "features": {f["name"]: rng.randrange(1 << 20)
                                                       for f in fields if f["group"] == "item"}} for i in range(100)]
        (work / "score.json").write_text(json.dumps({"user": user, "context": context, "candidates": candidates}))
        serve = start([str(binaries / "funnel-serve"), "--port", "18082", "--models", str(work / "models"),
                       "--log-level", "error"])
        wait_ready("http://127.0.0.1:18082/readyz")
        score = ["-D", str(args.score_seconds), "-c", "16", "-m", "10", "-t", "1", "-d", str(work / "score.json"),
                 "-H", "content-type: application/json"]
        results["funnel_score"] = h2load("http://127.0.0.1:18082/v1/score", score, work, "funnel-score")
        results["funnel_score"]["candidates_per_s"] = results["funnel_score"]["req_per_s"] * 100
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
    finally:
        for server in servers:
            if server.poll() is None:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)

    f, n, s = results["funnel_healthz"], results["nghttpd_healthz"], results["funnel_score"]
    print(f"machine: {os.cpu_count()} cores\n")
    print("GET /healthz, h2load -n {:,} -c 16 -m 10 on CPU 0, server on CPU 1".format(args.requests))
    for name, r in (("funnel-serve", f), ("nghttpd", n)):
        print(f"  {name:13} {r['req_per_s']:>10,.0f} req/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
              f"failed {r['failed'] + r['errored'] + r['non_2xx']}")
    print(f"  ratio funnel-serve / nghttpd: {f['req_per_s'] / n['req_per_s']:.2f}x (target >= 0.9x)\n")
    print(f"POST /v1/score, 100 candidates, benchmark model, h2load -D {args.score_seconds} -c 16 -m 10 "
          "(server and h2load share both cores)")
    print(f"  end to end   {s['candidates_per_s']:>10,.0f} candidates/s ({s['req_per_s']:,.0f} req/s)  "
          f"p50 {s['p50_ms']:.2f} ms  p99 {s['p99_ms']:.2f} ms  errors {s['failed'] + s['errored'] + s['non_2xx']}")
    print(f"  kernel only  {results['kernel_candidates_per_s']:>10,.0f} candidates/s (one thread, batch 1000)")
    print(f"  ratio end to end / kernel only: {s['candidates_per_s'] / results['kernel_candidates_per_s']:.2f}x "
          "(target >= 0.7x)")
    print(json.dumps(results), file=open(os.environ.get("FUNNEL_BENCH_JSON", os.devnull), "w"))


if __name__ == "__main__":
    main()
