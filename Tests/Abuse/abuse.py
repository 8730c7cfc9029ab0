#!/usr/bin/env python3
"""HTTP/2 (and HTTP/1.1) abuse against a running funnel-serve while a well-behaved client keeps scoring.

Each case runs on its own connections with bounded counts and a time budget; after every case the daemon must be
alive, /healthz must answer, and the well-behaved client's error count must still be 0. 127.0.0.1 only.

    python3 Tests/Abuse/abuse.py [--port P] [--scale 1.0] [case …]     # no --port: starts .build-rel's daemon
"""
import argparse, gzip, json, os, random, re, signal, socket, sys, threading, time

import hpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from funnel_client import (ACK, CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PING, PREFACE,
                           PRIORITY, ROOT, RST_STREAM, SETTINGS, WINDOW_UPDATE, Daemon, GoodClient, H2Client,
                           check_scores, frame, http1, score_body)

# The daemon these cases expect (scripts/abuse.sh starts it so): short timeouts keep the run short.
# The memory budget is small so that the RSS bound the memory cases check (baseline + budget + slack) means something.
SETTINGS_FOR_ABUSE = {"read_timeout_seconds": 3, "idle_timeout_seconds": 6, "max_connections": 256,
                      "max_concurrent_streams": 128, "max_header_list_bytes": 16384, "memory_budget_bytes": 64 << 20}
SCALE = 1.0
# Set by main when it starts the daemon (None with --port): the cases that signal it, write its repository or
# watch its RSS use them. RSS0 is its RSS (KiB) before the first case.
DAEMON = None
GOOD = None
RSS0 = 0
RSS_SLACK_KIB = 64 << 10


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


# ------------------------------------------------------------------------------- memory, keep-alive, reload

class Peer(Raw):
    """A raw HTTP/2 connection that also reads what the server sends, without blocking: ACKs its SETTINGS, gives
    the DATA it receives back to the connection window, tracks the send windows the server grants, and notes the
    :status, error code and resets of each stream and GOAWAY/EOF."""

    def __init__(self, port):
        super().__init__(port)
        self.dec = hpack.Decoder()
        self.buf = b""
        self.window, self.initial_window, self.stream_windows = 65535, 65535, {}
        self.unacked = 0
        self.statuses, self.bodies, self.resets = {}, {}, set()
        self.goaway = self.eof = False
        self.next_sid = 1

    @property
    def closed(self):
        return self.goaway or self.eof

    def pump(self, timeout=0.0):
        """Reads and handles whatever has arrived; waits up to `timeout` for the first bytes."""
        if timeout > 0:
            self.sock.settimeout(timeout)
        else:
            self.sock.setblocking(False)
        try:
            while True:
                chunk = self.sock.recv(262144)
                if not chunk:
                    self.eof = True
                    break
                self.buf += chunk
                self.sock.setblocking(False)
        except (BlockingIOError, socket.timeout):
            pass
        except OSError:
            self.eof = True
        self.sock.settimeout(5)
        out = b""
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + length:
                break
            ftype, flags, sid = self.buf[3], self.buf[4], int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            payload, self.buf = self.buf[9:9 + length], self.buf[9 + length:]
            if ftype == SETTINGS and not flags & ACK:
                for i in range(0, len(payload) - 5, 6):
                    if int.from_bytes(payload[i:i + 2], "big") == 4:  # INITIAL_WINDOW_SIZE
                        delta = int.from_bytes(payload[i + 2:i + 6], "big") - self.initial_window
                        self.initial_window += delta
                        self.stream_windows = {k: v + delta for k, v in self.stream_windows.items()}
                out += frame(SETTINGS, ACK, 0)
            elif ftype == WINDOW_UPDATE:
                increment = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
                if sid == 0:
                    self.window += increment
                elif sid in self.stream_windows:
                    self.stream_windows[sid] += increment
            elif ftype == HEADERS:
                self.statuses.setdefault(sid, dict(self.dec.decode(payload)).get(":status"))
            elif ftype == DATA:
                self.unacked += length
                if len(self.bodies.get(sid, b"")) < 4096:
                    self.bodies[sid] = self.bodies.get(sid, b"") + payload
            elif ftype == RST_STREAM:
                self.resets.add(sid)
            elif ftype == GOAWAY:
                self.goaway = True
        if self.unacked >= 32768:
            out += frame(WINDOW_UPDATE, 0, 0, self.unacked.to_bytes(4, "big"))
            self.unacked = 0
        if out:
            self.eof |= not self.send(out)

    def open_stream(self, path, content_length, extra=()):
        """HEADERS (without END_STREAM) for a POST with a body of `content_length` bytes; returns the stream id."""
        sid, self.next_sid = self.next_sid, self.next_sid + 2
        self.stream_windows[sid] = self.initial_window
        headers = [("content-type", "application/json"), ("content-length", str(content_length))] + list(extra)
        self.eof |= not self.send(frame(HEADERS, END_HEADERS, sid, request_headers(self.enc, path, "POST", headers)))
        return sid

    def send_body(self, sid, data, end, wait=2.0):
        """DATA frames within the send windows (waiting up to `wait` for WINDOW_UPDATE); returns bytes sent."""
        sent, deadline = 0, time.time() + wait
        while sent < len(data) and not self.closed and sid not in self.resets and time.time() < deadline:
            size = min(len(data) - sent, 16384, self.window, self.stream_windows[sid])
            if size <= 0:
                self.pump(0.05)
                continue
            last = end and sent + size == len(data)
            if not self.send(frame(DATA, END_STREAM if last else 0, sid, data[sent:sent + size])):
                self.eof = True
                break
            self.window -= size
            self.stream_windows[sid] -= size
            sent += size
        return sent

    def error_code(self, sid):
        try:
            return json.loads(self.bodies.get(sid, b"{}"))["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None


class RssWatch:
    """Samples the daemon's RSS (and, optionally, the memory budget in use from /metrics) in the background while a
    case runs; `report` gives before/peak/after and whether the peak stayed under RSS0 + budget + slack."""

    def __init__(self, daemon, port, scrape_budget=False):
        self.daemon, self.port, self.scrape = daemon, port, scrape_budget
        self.before = self.peak = daemon.rss_kib() if daemon else 0
        self.budget_peak = 0
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_event.wait(0.05 if not self.scrape else 0.2):
            if self.daemon and self.daemon.alive():
                self.peak = max(self.peak, self.daemon.rss_kib())
            if self.scrape:
                try:
                    self.budget_peak = max(self.budget_peak, metric(self.port, "funnel_memory_budget_used_bytes"))
                except (OSError, ValueError):
                    pass

    def report(self):
        self.stop_event.set()
        self.thread.join()
        if not self.daemon or not self.daemon.alive():
            return "RSS n/a", self.daemon is None
        after = self.daemon.rss_kib()
        self.peak = max(self.peak, after)
        bound = RSS0 + SETTINGS_FOR_ABUSE["memory_budget_bytes"] // 1024 + RSS_SLACK_KIB
        text = (f"RSS KiB before {self.before} / peak {self.peak} / after {after} (bound {bound} = first {RSS0} + "
                f"budget {SETTINGS_FOR_ABUSE['memory_budget_bytes'] >> 20} MiB + slack {RSS_SLACK_KIB >> 10} MiB)")
        if self.scrape:
            text += f"; budget in use peak {self.budget_peak / 2**20:.1f} MiB"
        return text, self.peak <= bound


def metric(port, name):
    """The value of one sample on /metrics (`name` with its labels, as printed); 0 when absent."""
    status, text = http1(port, "GET", "/metrics")
    for line in text.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def good_counts():
    return GOOD.counts() if GOOD else (0, 0)


def served_version(port):
    return json.loads(http1(port, "GET", "/readyz")[1])["model"]["version"]


def repository_versions():
    d = os.path.join(DAEMON.repo, "funnel-student")
    return sorted(int(v) for v in os.listdir(d) if v.isdigit())


def reset_after_end_stream(port):
    """Complete requests (END_STREAM sent) reset with RST_STREAM(CANCEL) 0-2 ms later, so the reset lands while
    the request is being decoded, queued or batched, on 6 connections, with model reloads (SIGHUP) in the middle.
    This race used to trap the batch worker (SIGILL). nghttp2's reset rate limit may GOAWAY a connection: the
    client then reconnects."""
    body = score_body(100)
    seconds = max(4.0, 10 * SCALE)
    stop = threading.Event()
    totals = {"requests": 0, "reconnects": 0, "answered": 0, "refused": 0}
    failures = []
    lock = threading.Lock()

    def worker(seed):
        rng, c, mine = random.Random(seed), None, {"requests": 0, "reconnects": 0, "answered": 0, "refused": 0}
        while not stop.is_set():
            if c is None or c.closed:
                if c is not None:
                    mine["answered"] += sum(1 for v in c.statuses.values() if v == "200")
                    c.close()
                    mine["reconnects"] += 1
                try:
                    c = Peer(port)
                except OSError as e:
                    failures.append(f"connect: {e!r}")
                    time.sleep(0.1)
                    c = None
                    continue
            sid = c.open_stream("/v1/score", len(body))
            if c.send_body(sid, body, end=True) < len(body):
                continue  # closed on us (GOAWAY/EOF): reconnect
            time.sleep(rng.uniform(0, 0.002))
            c.eof |= not c.send(frame(RST_STREAM, 0, sid, (8).to_bytes(4, "big")))  # CANCEL
            c.stream_windows.pop(sid, None)
            c.pump()
            mine["requests"] += 1
        if c is not None:
            mine["answered"] += sum(1 for v in c.statuses.values() if v == "200")
            c.close()
        with lock:
            for k, v in mine.items():
                totals[k] += v

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    placed = []
    time.sleep(seconds / 3)
    if DAEMON:  # reloads in the middle: new versions (the same model, so the good client's scores stand) + SIGHUP
        for _ in range(4):
            version = repository_versions()[-1] + 1
            DAEMON.place(version, atomic=True)
            os.kill(DAEMON.proc.pid, signal.SIGHUP)
            placed.append(version)
            time.sleep(seconds / 12)
    time.sleep(max(0.0, seconds * 2 / 3 - seconds / 12 * len(placed)))
    stop.set()
    for t in threads:
        t.join()
    serving = None
    deadline = time.time() + 10
    while time.time() < deadline:  # the last reload may still be warming up
        serving = served_version(port)
        if not placed or serving == placed[-1]:
            break
        time.sleep(0.1)
    reloads = f"reloads to versions {placed} (SIGHUP each), serving {serving} after" if placed else "no reloads (no daemon)"
    return (f"{totals['requests']} requests reset 0-2 ms after END_STREAM on 6 connections in {seconds:.0f}s "
            f"({totals['answered']} answered 200 before the reset), {totals['reconnects']} reconnects after "
            f"GOAWAY/EOF; {reloads}; connect failures {len(failures)}"), (not placed or serving == placed[-1]) and not failures


def slow_large_bodies(port):
    """Many clients each announcing a ~1 MiB body and sending it in 64 KiB pieces with pauses: together they offer
    more than the memory budget. Past it a request must get 503 overloaded (not the memory); the rest end as usual
    (400 for the filler JSON, or 408 at the read timeout)."""
    budget = SETTINGS_FOR_ABUSE["memory_budget_bytes"]
    count = min(max(n(200), 100), SETTINGS_FOR_ABUSE["max_connections"] - 16)  # room for the good client
    size = 1 << 20
    body = b'{"pad":"' + b"x" * (size - 10) + b'"}'
    conns, sids = [], []
    for _ in range(count):
        try:
            c = Peer(port)
        except OSError:
            break
        conns.append(c)
        sids.append(c.open_stream("/v1/score", len(body)))
    ok0, err0 = good_counts()
    start = time.time()
    sent = [0] * len(conns)
    # 64 KiB every 0.15 s: 1 MiB in ~2.4 s, inside the 3 s read timeout if the server keeps up
    while time.time() - start < SETTINGS_FOR_ABUSE["read_timeout_seconds"] + 3:
        active = 0
        for i, c in enumerate(conns):
            c.pump()
            if c.closed or sids[i] in c.statuses or sids[i] in c.resets:
                continue
            active += 1
            if sent[i] < len(body):
                piece = body[sent[i]:sent[i] + 65536]
                sent[i] += c.send_body(sids[i], piece, end=sent[i] + len(piece) == len(body), wait=0.02)
        if not active:
            break
        time.sleep(0.15)
    for c in conns:
        c.pump(0.01)
    ok1, err1 = good_counts()
    hist = {}
    for c, sid in zip(conns, sids):
        status = c.statuses.get(sid)
        key = f"{status} {c.error_code(sid)}" if status else ("reset" if sid in c.resets else "closed" if c.closed else "none")
        hist[key] = hist.get(key, 0) + 1
        c.close()
    offered = len(conns) * len(body)
    overloaded = sum(v for k, v in hist.items() if k.startswith("503"))
    return (f"{len(conns)} clients x {len(body) >> 10} KiB in 64 KiB pieces every 0.15 s (offered {offered >> 20} MiB, "
            f"budget {budget >> 20} MiB, {sum(sent) >> 20} MiB sent); answers {dict(sorted(hist.items()))}; good client "
            f"during the uploads +{ok1 - ok0} ok +{err1 - err0} errors"), overloaded > 0 or offered <= budget


def ping_keepalive(port):
    """Connections that send nothing but a PING a second: PING is not request traffic, so each must be closed at
    the idle timeout (GOAWAY or EOF) like any idle connection."""
    idle = SETTINGS_FOR_ABUSE["idle_timeout_seconds"]
    conns, opened = [], []
    for _ in range(n(100)):
        conns.append(Peer(port))
        opened.append(time.time())
    closed_at = [None] * len(conns)
    last_ping = 0.0
    start = time.time()
    while time.time() - start < idle + 5 and None in closed_at:
        ping = time.time() - last_ping >= 1.0
        if ping:
            last_ping = time.time()
        for i, c in enumerate(conns):
            if closed_at[i] is not None:
                continue
            if ping:
                c.eof |= not c.send(frame(PING, 0, 0, b"keepaliv"))
            c.pump()
            if c.closed:
                closed_at[i] = time.time() - opened[i]
        time.sleep(0.05)
    for c in conns:
        c.close()
    done = [t for t in closed_at if t is not None]
    goaways = sum(c.goaway for c in conns)
    return (f"{len(conns)} connections sending only PING every 1 s: closed {len(done)}/{len(conns)} "
            f"({goaways} with GOAWAY) after {min(done, default=0):.1f}-{max(done, default=0):.1f}s "
            f"(idle timeout {idle}s, limit {idle + 4}s)"), None not in closed_at and max(done) <= idle + 4


def gzip_amplification(port):
    """gzip request bodies of ~64 KB that inflate to 64 MiB of zeros, from several connections at once, repeated:
    each must be refused with 413 inflated_body_too_large at the inflate limit, never inflated whole."""
    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=9)
    workers, repeats = max(3, n(8)), max(2, n(20))
    answers, lock = {}, threading.Lock()

    def worker():
        c = None
        for _ in range(repeats):
            try:
                c = c or H2Client(port, timeout=10)
                status, data = c.request("POST", "/v1/score", bomb, [("content-type", "application/json"),
                                                                       ("content-encoding", "gzip")])
                try:
                    key = f"{status} {json.loads(data)['error']['code']}"
                except (ValueError, KeyError, TypeError):
                    key = f"{status} {data[:60]!r}"
            except Exception as e:  # noqa: BLE001 - recorded, fails the case
                key = f"error {e!r}"[:80]
                if c:
                    c.sock.close()
                c = None
            with lock:
                answers[key] = answers.get(key, 0) + 1
        if c:
            c.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = workers * repeats
    good = answers.get("413 inflated_body_too_large", 0)
    return (f"{total} gzip bombs ({len(bomb) >> 10} KiB -> 64 MiB) on {workers} connections: {answers}"), good == total


def checkpoint_overwrite(port):
    """The served checkpoint written over in place (same inode, as `cp` does) with another valid model, then with
    garbage, then truncated to 100 bytes: what serves must not change until a reload, and the reload must reject
    the truncated file and keep serving; with the other valid model written in place again, the reload swaps it in
    under the same version. The original is restored (and reloaded) at the end for the good client's sake."""
    if not DAEMON:
        return "skipped: needs the daemon abuse.py starts", True
    version = served_version(port)
    path = os.path.join(DAEMON.repo, "funnel-student", str(version), "model.fckpt")
    with open(path, "rb") as f:
        original = f.read()
    with open(os.path.join(ROOT, "models/funnel-student/2/model.fckpt"), "rb") as f:
        other = f.read()
    inode = os.stat(path).st_ino
    log_path = os.path.join(DAEMON.dir, "stderr.log")
    request = score_body(50, seed=7)

    def scores():
        status, data = http1(port, "POST", "/v1/score", request, [("content-type", "application/json")])
        check_scores(status, data, 50)
        doc = json.loads(data)
        return doc["model"]["version"], doc["results"]

    def same_as_base():
        v, results = scores()
        try:
            check_scores(200, json.dumps({"model": {"name": "funnel-student", "version": v}, "results": results}).encode(), 50, base)
            return v == version
        except ValueError:
            return False

    def write_in_place(data):
        with open(path, "wb") as f:  # O_WRONLY|O_TRUNC on the served inode, as cp does
            f.write(data)
        assert os.stat(path).st_ino == inode

    def reload(result):
        """SIGHUP, then wait for the reload counter `result` (success/failure) to move; True if it did."""
        name = f'funnel_model_reloads_total{{result="{result}"}}'
        before = metric(port, name)
        os.kill(DAEMON.proc.pid, signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline:
            if metric(port, name) > before:
                return True
            time.sleep(0.05)
        return False

    def rejections():
        with open(log_path) as f:
            return f.read().count("rejected model version")

    _, base = scores()
    steps = []
    write_in_place(other)
    steps.append(("other model in place", same_as_base()))
    write_in_place(os.urandom(len(original) // 2))
    steps.append(("garbage in place", same_as_base()))
    os.truncate(path, 100)
    steps.append(("truncated to 100 B", same_as_base()))
    logged = rejections()
    rejected = reload("failure")
    steps.append(("SIGHUP rejected", rejected and same_as_base() and served_version(port) == version))
    if GOOD:
        GOOD.lenient.value = 1
    loose0 = good_counts()
    try:
        write_in_place(other)
        swapped = reload("success")
        deadline = time.time() + 2
        while GOOD and good_counts()[0] < loose0[0] + 3 and time.time() < deadline:
            time.sleep(0.05)  # let the good client be answered by the other model a few times
        v, results = scores()
        changed = max(abs(a["pctr"] - b["pctr"]) for a, b in zip(results, base))
        listed = [m["version"] for m in json.loads(http1(port, "GET", "/v1/models")[1])["models"]]
        steps.append((f"SIGHUP swapped in (max |d pctr| {changed:.3f}, /v1/models versions {listed})",
                      swapped and changed > 1e-3 and v == version and served_version(port) == version
                      and listed == [version]))
        write_in_place(original)
        restored = reload("success")
        steps.append(("original restored", restored and same_as_base()))
    finally:
        if GOOD:
            GOOD.lenient.value = 0
    loose1 = good_counts()
    logged = rejections() - logged
    return (f"version {version} ({len(original) >> 10} KiB) overwritten in place with the other model "
            f"({len(other) >> 10} KiB), garbage, 100 bytes: " + ", ".join(f"{k} {'ok' if v else 'WRONG'}" for k, v in steps)
            + f"; rejection logged {logged}x; good client while the other model could serve (form checked only): "
            f"+{loose1[0] - loose0[0]} ok +{loose1[1] - loose0[1]} errors"), all(v for _, v in steps) and logged >= 1


# ----------------------------------------------------------------------------------------------------- driver

# checkpoint_overwrite first: it then writes over version 1, before reset_after_end_stream places newer versions.
MEMORY_CASES = ["checkpoint_overwrite", "reset_after_end_stream", "slow_large_bodies", "ping_keepalive",
                "gzip_amplification"]


def main():
    global SCALE, DAEMON, GOOD, RSS0
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
    DAEMON, GOOD, RSS0 = daemon, good, rss0
    all_cases = ["rapid_reset", "continuation_flood", "settings_flood", "ping_flood", "hpack_bomb", "malformed_frames",
                 "zero_window", "slowloris", "too_many_connections", "too_many_streams"] + MEMORY_CASES
    failed = []
    for name in a.cases or all_cases:
        ok0, err0 = good.counts()
        start = time.time()
        watch = RssWatch(daemon, port, scrape_budget=name == "slow_large_bodies") if name in MEMORY_CASES else None
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
        if watch:  # the memory cases: RSS before/peak/after against the bound
            rss, within = watch.report()
            detail, passed = f"{detail}; {rss}", passed and within
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
