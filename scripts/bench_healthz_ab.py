#!/usr/bin/env python3
"""A/B of two funnel-serve binaries on GET /healthz: both serve the repository's default model, pinned to CPU 1,
h2load on CPU 0, alternated rounds (old, new, new, old, …) of 200,000 requests (-c 16 -m 10). Prints per binary the
median server CPU-µs per request (utime + stime from /proc) and requests/s, and the new/old CPU ratio.

usage: scripts/bench_healthz_ab.py OLD_BINARY NEW_BINARY [ROUNDS]
"""
import os, re, statistics, subprocess, sys, time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REQUESTS = 200_000


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    binaries = sys.argv[1:3]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    servers = [subprocess.Popen(["taskset", "-c", "1", binary, "--port", str(18100 + i), "--models",
                                 str(REPO / "models")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for i, binary in enumerate(binaries)]
    try:
        time.sleep(2)
        cpu = {0: [], 1: []}
        rate = {0: [], 1: []}
        for r in range(rounds):
            for i in (0, 1) if r % 2 == 0 else (1, 0):
                before = cpu_seconds(servers[i].pid)
                out = subprocess.run(["taskset", "-c", "0", "h2load", "-n", str(REQUESTS), "-c", "16", "-m", "10",
                                      f"http://127.0.0.1:{18100 + i}/healthz"], capture_output=True, text=True,
                                     check=True).stdout
                cpu[i].append((cpu_seconds(servers[i].pid) - before) * 1e6 / REQUESTS)
                rate[i].append(float(re.search(r"([\d.]+) req/s", out).group(1)))
    finally:
        for server in servers:
            server.terminate()
    for i, binary in enumerate(binaries):
        print(f"{binary}: CPU-µs/request median {statistics.median(cpu[i]):.2f} "
              f"{[round(x, 2) for x in cpu[i]]}  req/s median {statistics.median(rate[i]):,.0f}")
    print(f"ratio new/old CPU-µs/request: {statistics.median(cpu[1]) / statistics.median(cpu[0]):.3f}")


if __name__ == "__main__":
    main()
