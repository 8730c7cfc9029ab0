"""Shared helpers for the reliability scripts: start funnel-serve on 127.0.0.1:0, a well-behaved HTTP/2 scoring
client (python h2 over a plain socket) that checks every answer, raw frame builders. 127.0.0.1 only."""
import json, multiprocessing, os, shutil, signal, socket, struct, subprocess, sys, tempfile, time

import h2.config, h2.connection, h2.events

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models/funnel-student/1/model.fckpt")
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def default_binary():
    return os.environ.get("FUNNEL_SERVE", os.path.join(ROOT, ".build-rel/release/funnel-serve"))


class Daemon:
    """funnel-serve with its own repository (version 1 = the default model) and configuration."""

    def __init__(self, settings=None, binary=None, versions=(1,)):
        self.dir = tempfile.mkdtemp(prefix="funnel-rel-")
        self.repo = os.path.join(self.dir, "models")
        for v in versions:
            self.place(v)
        config = {"port": 0, "model_repository": self.repo, "reload_poll_seconds": 0, "shutdown_grace_seconds": 10,
                  "log_level": "warning", "log_format": "text"}
        config.update(settings or {})
        self.config_path = os.path.join(self.dir, "serve.json")
        with open(self.config_path, "w") as f:
            json.dump(config, f)
        self.log = open(os.path.join(self.dir, "stderr.log"), "w+")
        self.proc = subprocess.Popen([binary or default_binary(), "--config", self.config_path],
                                     stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode()
        if "listening on" not in line:
            raise RuntimeError(f"funnel-serve did not start: {line!r}")
        self.port = int(line.strip().rsplit(":", 1)[1])
        self.wait_ready()

    def place(self, version, data=None, atomic=True):
        d = os.path.join(self.repo, "funnel-student", str(version))
        os.makedirs(d, exist_ok=True)
        if data is None:
            with open(MODEL, "rb") as f:
                data = f.read()
        target = os.path.join(d, "model.fckpt")
        if atomic:
            with open(target + ".tmp", "wb") as f:
                f.write(data)
            os.rename(target + ".tmp", target)
        else:
            with open(target, "wb") as f:
                f.write(data)

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                status, _ = http1(self.port, "GET", "/readyz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("funnel-serve not ready")

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.alive():
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.log.flush()
        self.log.seek(0)
        self.stderr = self.log.read()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return code


def http1(port, method, path, body=b"", headers=(), timeout=5):
    """One HTTP/1.1 request with Connection: close; returns (status, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        s.sendall(head.encode() + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), rest


def score_body(n, seed=0):
    return json.dumps({
        "user": {"user_id": f"u-{seed}", "user_age": 31, "user_recent_categories": ["shoes", "bags"]},
        "context": {"device": "ios", "hour_of_day": 21},
        "candidates": [{"id": f"sku-{i}", "features": {"item_id": 1000 + i, "item_category": f"c{i % 7}",
                                                       "price": 10.0 + i}} for i in range(n)],
    }).encode()


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream & 0x7FFFFFFF) + payload


DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20


class H2Client:
    """A minimal, correct HTTP/2 client: one request at a time, flow control honoured."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())

    def request(self, method, path, body=b"", headers=()):
        """One request; the body is sent as flow control allows (the server may answer early, e.g. 413, and
        reset the stream: then the rest is not sent). Returns (status, body)."""
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":scheme", "http"), (":authority", "127.0.0.1"), (":path", path)] + list(headers)
        self.conn.send_headers(sid, hdrs, end_stream=not body)
        self.sock.sendall(self.conn.data_to_send())
        st = {"status": None, "data": b"", "done": False}
        pos = 0
        while not st["done"]:
            if pos < len(body) and not st["done"]:
                try:
                    size = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size,
                               len(body) - pos)
                except Exception:  # noqa: BLE001 - stream already closed by the server
                    size, pos = 0, len(body)
                if size > 0:
                    self.conn.send_data(sid, body[pos:pos + size], end_stream=pos + size == len(body))
                    pos += size
                    self.sock.sendall(self.conn.data_to_send())
                    continue
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            for event in self.conn.receive_data(chunk):
                self._handle(event, sid, st)
            out = self.conn.data_to_send()
            if out:
                self.sock.sendall(out)
        return st["status"], st["data"]

    def _handle(self, event, sid, st):
        if isinstance(event, h2.events.ResponseReceived) and event.stream_id == sid:
            st["status"] = int(dict(event.headers)[b":status"])
        elif isinstance(event, h2.events.DataReceived) and event.stream_id == sid:
            st["data"] += event.data
            self.conn.acknowledge_received_data(event.flow_controlled_length, sid)
        elif isinstance(event, h2.events.StreamEnded) and event.stream_id == sid:
            st["done"] = True
        elif isinstance(event, h2.events.StreamReset) and event.stream_id == sid:
            if st["status"] is None:
                raise ConnectionError(f"stream reset {event.error_code}")
            st["done"] = True  # answered early, then reset (RFC 9113 §8.1): the answer stands
        elif isinstance(event, h2.events.ConnectionTerminated):
            raise ConnectionError(f"GOAWAY {event.error_code}")

    def close(self):
        try:
            self.conn.close_connection()
            self.sock.sendall(self.conn.data_to_send())
        except Exception:
            pass
        self.sock.close()


def check_scores(status, data, n, baseline=None):
    """A correct answer: 200, the served model named, n results with probabilities in [0, 1] (and equal to the
    baseline within float tolerance when one is given). Returns the version that computed it."""
    if status != 200:
        raise ValueError(f"status {status}: {data[:200]!r}")
    doc = json.loads(data)
    results = doc["results"]
    if doc["model"]["name"] != "funnel-student" or len(results) != n:
        raise ValueError(f"bad answer {data[:200]!r}")
    for r in results:
        for k in ("pctr", "pcvr", "pctcvr"):
            if not 0.0 <= r[k] <= 1.0:
                raise ValueError(f"{k} out of range: {r}")
    if baseline is not None:
        for got, want in zip(results, baseline):
            if got["id"] != want["id"] or abs(got["pctr"] - want["pctr"]) > 1e-5 or abs(got["pcvr"] - want["pcvr"]) > 1e-5:
                raise ValueError(f"answer differs from baseline: {got} vs {want}")
    return doc["model"]["version"]


def _good_client_loop(port, stop, ok, errors, lenient, candidates, log_errors):
    body = score_body(candidates)
    baseline = None
    client = None
    while not stop.is_set():
        try:
            if client is None:
                client = H2Client(port, timeout=5)
            loose = lenient.value  # read before sending: a request sent after it is cleared meets the restored model
            status, data = client.request("POST", "/v1/score", body, [("content-type", "application/json")])
            loose = loose or lenient.value
            check_scores(status, data, candidates, None if loose else baseline)
            if baseline is None and not loose:
                baseline = json.loads(data)["results"]
            with ok.get_lock():
                ok.value += 1
        except Exception as e:  # noqa: BLE001 - every failure counts
            with errors.get_lock():
                errors.value += 1
            if log_errors:
                print(f"  good client error: {e!r}", file=sys.stderr)
            if client is not None:
                client.sock.close()
            client = None
            time.sleep(0.05)
    if client is not None:
        client.close()


class GoodClient:
    """A separate process scoring `candidates` candidates in a loop on one persistent h2 connection, checking
    every answer; `ok`/`errors` are shared counters. Answers must equal the first one (same model, same scores),
    except while `lenient` is set: a case that deliberately serves another model under the same version sets it,
    and clears it only once the original model serves again; meanwhile answers are checked for form only."""

    def __init__(self, port, candidates=20, log_errors=True):
        self.stop_event = multiprocessing.Event()
        self.ok = multiprocessing.Value("l", 0)
        self.errors = multiprocessing.Value("l", 0)
        self.lenient = multiprocessing.Value("b", 0)
        self.proc = multiprocessing.Process(
            target=_good_client_loop,
            args=(port, self.stop_event, self.ok, self.errors, self.lenient, candidates, log_errors), daemon=True)
        self.proc.start()

    def counts(self):
        return self.ok.value, self.errors.value

    def stop(self):
        self.stop_event.set()
        self.proc.join(10)
        return self.counts()
