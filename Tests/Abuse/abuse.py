#!/usr/bin/env python3
"""HTTP/2 (and HTTP/1.1) abuse against a running funnel-serve while a well-behaved client keeps scoring.

Each case runs on its own connections with bounded counts and a time budget; after every case the daemon must be
alive, /healthz must answer, and the well-behaved client's error count must still be 0. 127.0.0.1 only.

    python3 Tests/Abuse/abuse.py [--port P] [--scale 1.0] [case …]     # no --port: starts .build-rel's daemon
"""
import argparse, os, socket, sys, threading, time

import hpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from funnel_client import (ACK, CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PING, PREFACE,
                           PRIORITY, RST_STREAM, SETTINGS, WINDOW_UPDATE, Daemon, GoodClient, frame, http1,
                           score_body)

# The daemon these cases expect (scripts/abuse.sh starts it so): short timeouts keep the run short.
SETTINGS_FOR_ABUSE = {"read_timeout_seconds": 3, "idle_timeout_seconds": 6, "max_connections": 256,
                      "max_concurrent_streams": 128, "max_header_list_bytes": 16384}
SCALE = 1.0


def n(count):
    return max(1, int(count * SCALE))


def request_headers(enc, path="/healthz", method="GET", extra=()):
    return enc.encode([(":method", method), (":scheme", "http"), (":authority", "127.0.0.1"), (":path", path)]
                      + list(extra))


class Raw:
    """A raw HTTP/2 connection: preface + empty SETTINGS sent; frames written as given; reading optional."""

    def __init__(self, port, settings=b"", rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", port))
        self.enc = hpack.Encoder()
        self.send(PREFACE + frame(SETTINGS, 0, 0, settings))

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False  # the server closed on us: that's the defence working

    def drain(self, seconds=2.0):
        """Reads until EOF or `seconds`; returns (bytes read, saw GOAWAY, closed)."""
        end = time.time() + seconds
        got, buf, closed = 0, b"", False
        self.sock.settimeout(0.2)
        while time.time() < end:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            got += len(chunk)
            buf = (buf + chunk)[-1_000_000:]
        self.received = buf
        return got, goaway_in(buf), closed

    def close(self):
        self.sock.close()


def statuses_in(buf):
    """{stream id: :status} of the server's HEADERS frames (the server never splits them into CONTINUATION)."""
    decoder, out, i = hpack.Decoder(), {}, 0
    while i + 9 <= len(buf):
        length = int.from_bytes(buf[i:i + 3], "big")
        ftype, sid = buf[i + 3], int.from_bytes(buf[i + 5:i + 9], "big") & 0x7FFFFFFF
        if ftype == HEADERS and i + 9 + length <= len(buf):
            out[sid] = dict(decoder.decode(buf[i + 9:i + 9 + length])).get(":status")
        i += 9 + length
    return out


def goaway_in(buf):
    """True if a GOAWAY frame header appears at a frame boundary in the server's byte stream."""
    i = 0
    while i + 9 <= len(buf):
        length = int.from_bytes(buf[i:i + 3], "big")
        if buf[i + 3] == GOAWAY:
            return True
        i += 9 + length
    return False


# ---------------------------------------------------------------------------------------------------- cases

def rapid_reset(port):
    """CVE-2023-44487: HEADERS + RST_STREAM pairs as fast as possible on several connections."""
    total, goaways = 0, 0
    for _ in range(n(4)):
        c = Raw(port)
        batch = b""
        sid = 1
        for _ in range(n(5000)):
            batch += frame(HEADERS, END_HEADERS, sid, request_headers(c.enc, "/v1/score", "POST"))
            batch += frame(RST_STREAM, 0, sid, (8).to_bytes(4, "big"))  # CANCEL
            sid += 2
            if len(batch) > 32768:
                if not c.send(batch):
                    break
                batch = b""
        total += (sid - 1) // 2
        c.send(batch)
        _, goaway, closed = c.drain(2)
        goaways += goaway or closed
        c.close()
    return f"{total} HEADERS+RST pairs on {n(4)} connections; closed with GOAWAY/EOF: {goaways}", goaways == n(4)


def continuation_flood(port):
    """CVE-2024-28182: one HEADERS without END_HEADERS, then endless CONTINUATION frames."""
    closed_count = 0
    for _ in range(n(3)):
        c = Raw(port)
        c.send(frame(HEADERS, 0, 1, request_headers(c.enc, "/healthz")))
        sent = 0
        for i in range(n(20000)):
            if not c.send(frame(CONTINUATION, 0, 1, b"\x40\x01a\x01b")):  # literal a: b, incremental indexing
                break
            sent += 1
        _, goaway, closed = c.drain(2)
        closed_count += goaway or closed
        c.close()
    return f"{n(3)} connections x up to {n(20000)} CONTINUATION frames; cut off: {closed_count}", closed_count == n(3)


def settings_flood(port):
    """SETTINGS frames that must each be ACKed, never reading the ACKs; plus one frame with 1000 entries."""
    results = []
    c = Raw(port, rcvbuf=4096)
    for _ in range(n(50000)):
        if not c.send(frame(SETTINGS, 0, 0, b"")):
            break
    _, goaway, closed = c.drain(3)
    results.append(goaway or closed)
    c.close()
    c = Raw(port)
    c.send(frame(SETTINGS, 0, 0, b"\x00\x04\x00\x01\x00\x00" * 1000))  # 1000 x INITIAL_WINDOW_SIZE
    _, goaway, closed = c.drain(2)
    results.append(goaway or closed)
    c.close()
    return f"{n(50000)} unread SETTINGS, then 1000 entries in one frame: cut off {results}", all(results)


def ping_flood(port):
    """PINGs that must each be answered, never reading the answers."""
    c = Raw(port, rcvbuf=4096)
    sent = 0
    batch = frame(PING, 0, 0, b"12345678") * 1000
    for _ in range(n(100)):
        if not c.send(batch):
            break
        sent += 1000
    _, goaway, closed = c.drain(3)
    c.close()
    return f"{sent} unread PINGs; cut off: {goaway or closed}", goaway or closed


def hpack_bomb(port):
    """A 4000-byte header put in the HPACK dynamic table once, then referenced by a one-byte index thousands of
    times: a 3 KB header block that decodes to ~12 MB. Expect 431 (or a reset), never the memory."""
    c = Raw(port)
    block = request_headers(c.enc, "/healthz")
    block += b"\x40\x06x-bomb" + hpack_string(b"a" * 4000)  # literal with incremental indexing → dynamic index 62
    block += b"\xbe" * 3000
    frames = b""
    for start in range(0, len(block), 16000):
        piece = block[start:start + 16000]
        last = start + 16000 >= len(block)
        frames += frame(HEADERS if start == 0 else CONTINUATION, (END_HEADERS if last else 0) | (END_STREAM if start == 0 else 0), 1, piece)
    c.send(frames)
    got, goaway, closed = c.drain(2)
    h2_status = statuses_in(c.received).get(1)
    c.close()
    # The answer itself: send the same bomb as HTTP/1.1 header lines (the h1 bound is the same knob).
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"x-bomb: " + b"a" * 4000 + b"\r\n" + (b"x-b: 1\r\n" * 3000) + b"\r\n")
    reply = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    except OSError:
        pass
    s.close()
    h1 = reply.split(b"\r\n", 1)[0]
    return (f"h2: {len(block)}-byte block (~{4000 * 3000 // 1_000_000} MB decoded) answered :status {h2_status}; "
            f"h1 same: {h1.decode()!r}"), b"431" in h1 and h2_status == "431"


def hpack_string(value):
    """HPACK string literal without Huffman: 7-bit prefix integer length, then the bytes."""
    length = len(value)
    if length < 127:
        return bytes([length]) + value
    out = [127]
    length -= 127
    while length >= 128:
        out.append((length % 128) + 128)
        length //= 128
    out.append(length)
    return bytes(out) + value


def malformed_frames(port):
    """One connection per malformed input; the server must answer with GOAWAY/RST or ignore, never crash."""
    enc = hpack.Encoder()
    cases = {
        "oversized DATA (16 MiB length)": frame(HEADERS, END_HEADERS, 1, request_headers(enc, "/v1/score", "POST")) + b"\xff\xff\xff\x00\x00\x00\x00\x00\x01" + b"x" * 65536,
        "oversized frame 20 KB > SETTINGS_MAX_FRAME_SIZE": frame(PING, 0, 0, b"p" * 20000),
        "DATA on stream 0": frame(DATA, 0, 0, b"abc"),
        "HEADERS on stream 0": frame(HEADERS, END_HEADERS, 0, b"\x82"),
        "even (server) stream id": frame(HEADERS, END_HEADERS | END_STREAM, 2, b"\x82\x86\x84"),
        "invalid HPACK index": frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\xff\xff\xff\xff\x0f"),
        "PING with 7 bytes": frame(PING, 0, 0, b"1234567"),
        "SETTINGS ack with payload": frame(SETTINGS, ACK, 0, b"\x00\x01\x00\x00\x10\x00"),
        "WINDOW_UPDATE 0": frame(WINDOW_UPDATE, 0, 0, b"\x00\x00\x00\x00"),
        "window overflow": frame(WINDOW_UPDATE, 0, 0, b"\x7f\xff\xff\xff") * 2,
        "RST_STREAM on idle stream": frame(RST_STREAM, 0, 99, b"\x00\x00\x00\x08"),
        "PRIORITY with bad length": frame(PRIORITY, 0, 1, b"\x00"),
        "CONTINUATION without HEADERS": frame(CONTINUATION, END_HEADERS, 1, b"\x82"),
        "unknown frame type 0xfa": frame(0xFA, 0xFF, 1, b"whatever"),
        "uppercase header name": frame(HEADERS, END_HEADERS | END_STREAM, 1, request_headers(enc, extra=[("X-Upper", "1")])),
        "connection-specific header": frame(HEADERS, END_HEADERS | END_STREAM, 1, request_headers(enc, extra=[("connection", "keep-alive")])),
        "pseudo-header after regular": frame(HEADERS, END_HEADERS | END_STREAM, 1, enc.encode([("x-a", "1"), (":method", "GET"), (":path", "/"), (":scheme", "http")])),
        "missing :path": frame(HEADERS, END_HEADERS | END_STREAM, 1, enc.encode([(":method", "GET"), (":scheme", "http")])),
        "content-length mismatch": frame(HEADERS, END_HEADERS, 1, request_headers(enc, "/v1/score", "POST", [("content-length", "10")])) + frame(DATA, END_STREAM, 1, b"{}"),
        "DATA after END_STREAM": frame(HEADERS, END_HEADERS | END_STREAM, 1, request_headers(enc)) + frame(DATA, 0, 1, b"late"),
        "padding longer than frame": frame(DATA, 0x8, 1, b"\xff" + b"x" * 5),
        "GOAWAY from client then HEADERS": frame(GOAWAY, 0, 0, b"\x00\x00\x00\x00\x00\x00\x00\x00") + frame(HEADERS, END_HEADERS | END_STREAM, 1, request_headers(enc)),
        "garbage after preface": os.urandom(4096),
        "bad preface": b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + os.urandom(64),
    }
    failures = []
    for name, payload in cases.items():
        if name.startswith("bad preface"):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(payload)
            s.close()
            continue
        enc = hpack.Encoder()
        c = Raw(port)
        c.send(payload)
        c.drain(0.3)
        c.close()
    return f"{len(cases)} malformed inputs sent", not failures


def zero_window(port):
    """Clients that advertise a zero stream window and never read: many large answers queued (/metrics and
    1000-candidate scores) on 16 connections, held for a while. Memory must stay bounded, the connections must
    be cut by the stalled-output deadline, and everyone else keeps being served."""
    conns = []
    body = score_body(1000)
    for _ in range(n(16)):
        c = Raw(port, settings=b"\x00\x04\x00\x00\x00\x00", rcvbuf=4096)  # INITIAL_WINDOW_SIZE 0
        batch = b""
        for i in range(100):
            sid = 2 * i + 1
            if i % 2:
                batch += frame(HEADERS, END_HEADERS | END_STREAM, sid, request_headers(c.enc, "/metrics"))
            else:
                batch += frame(HEADERS, END_HEADERS, sid, request_headers(c.enc, "/v1/score", "POST", [("content-type", "application/json")]))
                for start in range(0, len(body), 16384):
                    batch += frame(DATA, END_STREAM if start + 16384 >= len(body) else 0, sid, body[start:start + 16384])
        c.send(batch[:60000])  # stays inside the default connection window (64 KiB) the server grants
        conns.append(c)
    return conns


def slowloris(port):
    """Byte-at-a-time clients (HTTP/1.1 and HTTP/2) that never finish a request: cut by the read timeout."""
    conns = []
    for i in range(n(40)):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        conns.append((s, (b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"{" * 1000) if i % 2 else (PREFACE + frame(SETTINGS, 0, 0) + frame(HEADERS, END_HEADERS, 1, request_headers(hpack.Encoder(), "/v1/score", "POST")) + frame(DATA, 0, 1, b"{" * 1000))))
    return conns


def drip(conns, seconds):
    """Sends one byte per connection every 100 ms for up to `seconds`; returns the seconds after which the server
    closed each connection (None: still open)."""
    positions = [0] * len(conns)
    closed_at = [None] * len(conns)
    start = time.time()
    while time.time() - start < seconds and None in closed_at:
        for i, (s, data) in enumerate(conns):
            if closed_at[i] is not None:
                continue
            try:
                if positions[i] < len(data):
                    s.send(data[positions[i]:positions[i] + 1])
                    positions[i] += 1
                s.setblocking(False)
                try:
                    while True:
                        chunk = s.recv(65536)
                        if chunk == b"":
                            closed_at[i] = time.time() - start
                            break
                except BlockingIOError:
                    pass
                s.setblocking(True)
            except OSError:
                closed_at[i] = time.time() - start
        time.sleep(0.1)
    return closed_at


def too_many_connections(port, limit):
    """limit + 200 idle connections: the ones above the limit are closed at once; the rest are cut by the
    protocol-detection/read timeout; afterwards new connections work."""
    socks = []
    for _ in range(limit + n(200)):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            break
    time.sleep(0.5)
    refused = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                refused += 1
        except BlockingIOError:
            pass
        except OSError:
            refused += 1
    for s in socks:
        s.close()
    time.sleep(0.3)
    status, _ = http1(port, "GET", "/healthz")
    return f"{len(socks)} connections opened (limit {limit}); closed at once: {refused}; /healthz after: {status}", refused >= n(200) - 10 and status == 200


def too_many_streams(port):
    """1000 concurrent streams (HEADERS without END_STREAM) on one connection advertising 128: the excess are
    refused with RST_STREAM(REFUSED_STREAM) or the connection is ended; the first 128 are cut by the read timeout."""
    c = Raw(port)
    batch = b""
    for i in range(n(1000)):
        batch += frame(HEADERS, END_HEADERS, 2 * i + 1, request_headers(c.enc, "/v1/score", "POST"))
    c.send(batch)
    got, buf_goaway, closed = c.drain(1.0)
    resets = count_frames(c.received, RST_STREAM)
    c.close()
    return (f"{n(1000)} streams opened at once (limit 128): {resets} RST_STREAM, GOAWAY {buf_goaway}, closed {closed}",
            resets > 0 or buf_goaway)


def count_frames(buf, ftype):
    i = count = 0
    while i + 9 <= len(buf):
        count += buf[i + 3] == ftype
        i += 9 + int.from_bytes(buf[i:i + 3], "big")
    return count


# ----------------------------------------------------------------------------------------------------- driver

def main():
    global SCALE
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int)
    p.add_argument("--scale", type=float, default=1.0, help="multiplies every count (0.2 for CI)")
    p.add_argument("cases", nargs="*")
    a = p.parse_args()
    SCALE = a.scale
    daemon = None if a.port else Daemon(SETTINGS_FOR_ABUSE)
    port = a.port or daemon.port
    limit = SETTINGS_FOR_ABUSE["max_connections"]
    good = GoodClient(port, candidates=20)
    time.sleep(1)
    rss0 = daemon.rss_kib() if daemon else 0
    all_cases = ["rapid_reset", "continuation_flood", "settings_flood", "ping_flood", "hpack_bomb", "malformed_frames",
                 "zero_window", "slowloris", "too_many_connections", "too_many_streams"]
    failed = []
    for name in a.cases or all_cases:
        ok0, err0 = good.counts()
        start = time.time()
        if name == "zero_window":
            conns = zero_window(port)
            time.sleep(1.0)
            rss_mid = daemon.rss_kib() if daemon else 0
            cut = sum(1 for c in conns if c.drain(0)[2] is False)  # placeholder read to keep sockets referenced
            # the stalled-output deadline is idle_timeout (6 s here): wait for the cut
            closed = 0
            deadline = time.time() + SETTINGS_FOR_ABUSE["idle_timeout_seconds"] + 6
            pending = list(conns)
            while pending and time.time() < deadline:
                time.sleep(0.5)
                still = []
                for c in pending:
                    # read a little (the window stays 0, so this only drains what was already sent) to spot EOF
                    c.sock.setblocking(False)
                    try:
                        while True:
                            d = c.sock.recv(65536)
                            if not d:
                                closed += 1
                                break
                    except BlockingIOError:
                        still.append(c)
                    except OSError:
                        closed += 1
                pending = still
            for c in conns:
                c.close()
            detail = f"{len(conns)} zero-window clients x 100 big answers; RSS during {rss_mid} KiB; cut by the server: {closed}/{len(conns)}"
            passed = closed == len(conns)
        elif name == "slowloris":
            conns = slowloris(port)
            # h1: cut by the read timeout (from the first byte). h2: the stream is answered 408 and reset at the read
            # timeout; the connection, whose frames never complete, then goes at the idle timeout (+ 2 s linger).
            limit_s = SETTINGS_FOR_ABUSE["read_timeout_seconds"] + SETTINGS_FOR_ABUSE["idle_timeout_seconds"] + 2 + 3
            closed_at = drip(conns, limit_s + 2)
            for s, _ in conns:
                s.close()
            h1 = [t for i, t in enumerate(closed_at) if i % 2 and t is not None]
            h2c = [t for i, t in enumerate(closed_at) if not i % 2 and t is not None]
            detail = (f"{len(conns)} byte-a-time clients (10 B/s each): h1 cut {len(h1)}/{len(conns) // 2} "
                      f"(max {max(h1, default=0):.1f}s), h2 cut {len(h2c)}/{len(conns) - len(conns) // 2} "
                      f"(max {max(h2c, default=0):.1f}s)")
            passed = None not in closed_at and max(closed_at) <= limit_s
        elif name == "too_many_connections":
            detail, passed = too_many_connections(port, limit)
        else:
            detail, passed = globals()[name](port)
        time.sleep(0.5)
        alive = daemon.alive() if daemon else True
        try:
            health = http1(port, "GET", "/healthz")[0]
        except OSError as e:
            health = repr(e)
        ok1, err1 = good.counts()
        verdict = passed and alive and health == 200 and err1 == err0
        if not verdict:
            failed.append(name)
        print(f"{'PASS' if verdict else 'FAIL'} {name:22s} {time.time() - start:5.1f}s  good client +{ok1 - ok0} ok, "
              f"+{err1 - err0} errors | {detail} | healthz {health}", flush=True)
    ok, errors = good.stop()
    print(f"well-behaved client: {ok} correct answers, {errors} errors")
    if daemon:
        print(f"daemon RSS {rss0} KiB before, {daemon.rss_kib()} KiB after; open fds {daemon.fd_count()}")
        code = daemon.stop()
        print(f"daemon exit code {code}")
        if code != 0:
            failed.append("exit")
            print(daemon.stderr[-3000:])
    if errors:
        failed.append("good-client")
    print("abuse:", "FAILED " + ", ".join(failed) if failed else "all cases passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
