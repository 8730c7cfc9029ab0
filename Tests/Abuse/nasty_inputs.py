#!/usr/bin/env python3
"""Hand-written nasty POST /v1/score bodies, each sent over HTTP/1.1 and HTTP/2: every one must get a clear 4xx
with the JSON error body of docs/openapi.yaml ({"error": {"code", "message"}}), and the daemon must stay healthy.

    python3 Tests/Abuse/nasty_inputs.py [--port P]      # no --port: starts .build-rel's daemon
"""
import argparse, gzip, json, os, sys, time, zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from funnel_client import Daemon, H2Client, http1, score_body

GOOD = score_body(3)


def gz(data, level=9):
    return gzip.compress(data, compresslevel=level, mtime=0)


def gzip_bomb(inflated_bytes):
    """A gzip member that inflates to `inflated_bytes` zeros, built in pieces (never holds the inflated data)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    out = [c.compress(block) for _ in range(inflated_bytes >> 20)]
    return b"".join(out) + c.flush()


def cases():
    many = b'{"candidates": [' + b",".join([b"{}"] * 1_000_000) + b"]}"
    yield "empty body", b"", {}, {400}
    yield "truncated JSON", GOOD[: len(GOOD) // 2], {}, {400}
    yield "truncated after key", b'{"candidates"', {}, {400}
    yield "deeply nested arrays (100k)", b'{"candidates": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", {}, {400}
    yield "deeply nested objects (10k)", b'{"user": ' + b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"}", {}, {400}
    yield "duplicate top-level key", b'{"candidates": [], "candidates": [{"id": "a", "features": {"price": 1}}]}', {}, {400}
    yield "duplicate feature key", b'{"candidates": [{"id": "a", "features": {"price": 1, "price": 2}}]}', {}, {400}
    yield "huge number 1e400", b'{"candidates": [{"id": "a", "features": {"price": 1e400}}]}', {}, {400}
    yield "huge integer 10^30", b'{"candidates": [{"id": "a", "features": {"item_id": 1000000000000000000000000000000, "price": 1}}]}', {}, {400}
    yield "huge top_k", b'{"top_k": 99999999999999999999, "candidates": [{"id": "a", "features": {"price": 1}}]}', {}, {400}
    yield "negative top_k", b'{"top_k": -1, "candidates": [{"id": "a", "features": {"price": 1}}]}', {}, {400}
    yield "NaN", b'{"candidates": [{"id": "a", "features": {"price": NaN}}]}', {}, {400}
    yield "Infinity", b'{"candidates": [{"id": "a", "features": {"price": Infinity}}]}', {}, {400}
    yield "-Infinity", b'{"candidates": [{"id": "a", "features": {"price": -Infinity}}]}', {}, {400}
    yield "invalid UTF-8 in string", b'{"candidates": [{"id": "\xff\xfe", "features": {"price": 1}}]}', {}, {400}
    yield "overlong UTF-8", b'{"candidates": [{"id": "\xc0\xaf", "features": {"price": 1}}]}', {}, {400}
    yield "lone surrogate escape", b'{"candidates": [{"id": "\\ud800", "features": {"price": 1}}]}', {}, {400}
    yield "NUL byte in body", b'{"candidates": [{"id": "a\x00", "features": {"price": 1}}]}', {}, {400}
    yield "UTF-8 BOM", b"\xef\xbb\xbf" + GOOD, {}, {400}
    yield "comment", b'{"candidates": [] /* c */}', {}, {400}
    yield "trailing comma", b'{"candidates": [{"id": "a", "features": {"price": 1}},]}', {}, {400}
    yield "trailing garbage", GOOD + b"x", {}, {400}
    yield "top-level array", b"[" + GOOD + b"]", {}, {400}
    yield "boolean feature", b'{"candidates": [{"id": "a", "features": {"price": true}}]}', {}, {400}
    yield "unknown feature", b'{"candidates": [{"id": "a", "features": {"price": 1, "nope": 1}}]}', {}, {400}
    yield "unknown top-level field", b'{"candidatez": []}', {}, {400}
    yield "10^6 candidates (3 MB body)", many, {}, {413}
    yield "10^6 full candidates gzip (25 MB inflated)", gz(b'{"candidates": [' + b",".join([b'{"id":1,"features":{"price":1}}'] * 1_000_000) + b"]}"), {"content-encoding": "gzip"}, {413}
    yield "gzip bomb 1 GiB of zeros", gzip_bomb(1 << 30), {"content-encoding": "gzip"}, {413}
    yield "double gzip bomb", gz(gzip_bomb(1 << 30)), {"content-encoding": "gzip, gzip"}, {413, 415, 400}
    yield "corrupt gzip", gz(GOOD)[:-12] + b"\0" * 12, {"content-encoding": "gzip"}, {400}
    yield "gzip header only", gz(GOOD)[:10], {"content-encoding": "gzip"}, {400}
    yield "unknown content-encoding", GOOD, {"content-encoding": "br"}, {415}
    yield "wrong content-type", GOOD, {"content-type": "text/plain"}, {415}
    yield "deadline_ms 1 (200 or 504, never 500)", json.dumps(dict(json.loads(GOOD), deadline_ms=1)).encode(), {}, {200, 504}
    yield "body over 4 MiB", b" " * (4 * 1024 * 1024 + 1), {}, {413}


def check(status, body, allowed):
    if status not in allowed:
        return f"status {status} not in {sorted(allowed)}"
    if status == 200:
        return None
    try:
        err = json.loads(body)["error"]
        assert isinstance(err["code"], str) and isinstance(err["message"], str)
    except Exception:  # noqa: BLE001
        return f"error body is not {{error: {{code, message}}}}: {body[:120]!r}"
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int)
    a = p.parse_args()
    daemon = None if a.port else Daemon({"read_timeout_seconds": 30})
    port = a.port or daemon.port
    failures = 0
    h2c = H2Client(port, timeout=60)
    for name, body, headers, allowed in cases():
        hdrs = [("content-type", "application/json")] + [(k, v) for k, v in headers.items() if k != "content-type"]
        if "content-type" in headers:
            hdrs = [(k, v) for k, v in hdrs if k != "content-type"] + [("content-type", headers["content-type"])]
        results = []
        for proto in ("h1", "h2"):
            start = time.time()
            try:
                if proto == "h1":
                    status, data = http1(port, "POST", "/v1/score", body, hdrs, timeout=60)
                else:
                    try:
                        status, data = h2c.request("POST", "/v1/score", body, hdrs)
                    except Exception:  # noqa: BLE001 - e.g. a reset after an early 413: reconnect and say so
                        h2c = H2Client(port, timeout=60)
                        raise
                problem = check(status, data, allowed)
            except Exception as e:  # noqa: BLE001
                status, problem = None, repr(e)
            results.append(f"{proto} {status} {time.time() - start:.2f}s" + (f" FAIL: {problem}" if problem else ""))
            failures += problem is not None
        code = ""
        try:
            code = json.loads(data)["error"]["code"]
        except Exception:  # noqa: BLE001
            pass
        print(f"{'FAIL' if any('FAIL' in r for r in results) else 'ok  '} {name:45s} {len(body):>9} B  {' | '.join(results)}  {code}")
    health = http1(port, "GET", "/healthz")[0]
    print(f"nasty inputs: {failures} failures; /healthz {health}")
    if daemon:
        print(f"daemon RSS {daemon.rss_kib()} KiB; exit {daemon.stop()}")
    sys.exit(1 if failures or health != 200 else 0)


if __name__ == "__main__":
    main()
