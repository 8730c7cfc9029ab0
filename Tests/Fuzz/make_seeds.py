#!/usr/bin/env python3
"""Writes the seed corpora to Tests/Fuzz/Corpus/<Target>/<sha256 of content> (nghttp2's naming).

Seeds are real requests: JSON bodies the daemon accepts (and a few it rejects), HTTP/1.1 requests as curl sends
them (pipelined, chunked, gzip, 100-continue, h2c upgrade), HTTP/2 client byte streams produced by the `h2` library
(the same frames nghttp/curl send: SETTINGS, HEADERS, CONTINUATION, DATA, RST_STREAM, PING, WINDOW_UPDATE, GOAWAY),
and the small golden checkpoint. Deterministic: rerunning writes the same files.
"""
import gzip, hashlib, json, os, sys

import h2.config, h2.connection, h2.settings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def write(target, data):
    d = os.path.join(HERE, "Corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha256(data).hexdigest()), "wb") as f:
        f.write(data)


def body(n, extra=None):
    doc = {
        "user": {"user_id": "u-42", "user_age": 31, "user_recent_categories": ["shoes", "bags"], "user_segment": 3,
                 "user_purchases_30d": 2.5},
        "context": {"device": "ios", "hour_of_day": 21, "page": "home"},
        "candidates": [{"id": f"sku-{i}", "features": {"item_id": 1000 + i, "item_category": f"c{i % 7}",
                                                       "price": 10.5 + i, "item_ctr_7d": 0.04}} for i in range(n)],
    }
    doc.update(extra or {})
    return json.dumps(doc).encode()


def score_request_seeds():
    t = "FuzzScoreRequest"
    write(t, body(1))
    write(t, body(3, {"top_k": 2}))
    write(t, body(5, {"deadline_ms": 50}))
    write(t, json.dumps({"candidates": [{"id": 7, "features": {"item_id": 1, "price": 3}}]}).encode())
    write(t, json.dumps({"user": {"user_recent_categories": {"a": 0.5, "b": 2}}, "context": None,
                         "candidates": [{"id": "x", "features": {"item_id": None, "price": 1e3}}]}).encode())
    write(t, b'{"candidates": [{"id": "a\\u00e9\\ud83d\\ude00", "features": {"price": -0.0, "item_brand": "\\"q\\""}}]}')
    write(t, b'{"candidates": []}')
    write(t, b'[1, 2.5e-3, true, false, null, "s"]')
    # The Open Inference Protocol's JSON tensors and a gRPC ModelInfer message (the target tries every body as both).
    tensors = [
        {"name": "user_id", "shape": [1], "datatype": "BYTES", "data": ["u-42"]},
        {"name": "user_recent_categories", "shape": [1, 3], "datatype": "BYTES", "data": [["shoes", "bags", ""]]},
        {"name": "user_age", "shape": [1], "datatype": "INT64", "data": [31]},
        {"name": "item_id", "shape": [3], "datatype": "BYTES", "data": ["1000", "1001", "1002"]},
        {"name": "price", "shape": [3], "datatype": "FP64", "data": [10.5, 11.5, 12.5]},
    ]
    write(t, json.dumps({"id": "r", "inputs": tensors, "parameters": {"top_k": 2},
                         "outputs": [{"name": "score"}, {"name": "candidate_index"}]}).encode())
    write(t, json.dumps({"inputs": tensors[3:], "model_name": "funnel-student"}).encode())
    try:
        import struct
        from tritonclient.grpc import service_pb2
    except ImportError:
        return
    message = service_pb2.ModelInferRequest(model_name="funnel-student", id="g")
    message.parameters["top_k"].int64_param = 2
    raw = {"BYTES": lambda values: b"".join(struct.pack("<I", len(v.encode())) + v.encode() for v in values),
           "INT64": lambda values: struct.pack(f"<{len(values)}q", *values),
           "FP64": lambda values: struct.pack(f"<{len(values)}d", *values)}
    for tensor in tensors:
        flat = [v for row in tensor["data"] for v in (row if isinstance(row, list) else [row])]
        message.inputs.add(name=tensor["name"], datatype=tensor["datatype"], shape=tensor["shape"])
        message.raw_input_contents.append(raw[tensor["datatype"]](flat))
    write(t, message.SerializeToString())
    typed = service_pb2.ModelInferRequest(model_name="funnel-student")
    typed.inputs.add(name="item_id", datatype="BYTES", shape=[2]).contents.bytes_contents.extend([b"a", b"b"])
    typed.inputs.add(name="price", datatype="FP64", shape=[2]).contents.fp64_contents.extend([1.0, 2.0])
    write(t, typed.SerializeToString())


def http1_seeds():
    t = "FuzzHTTP1"
    b = body(2)
    reqs = [
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
        b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(b) + b,
        b"POST /v1/score HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
        b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"HEAD /readyz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        b"POST /v1/score HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nabcd",
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n",
        b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET http://example.com/metrics HTTP/1.1\r\nHost: example.com\r\nAccept-Encoding: gzip\r\n\r\n",
    ]
    gz = gzip.compress(b, mtime=0)
    reqs.append(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(gz) + gz)
    for i, r in enumerate(reqs):
        write(t, bytes([i % 8]) + r)  # first byte: the chunk size selector


def h2_client(settings=None):
    c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    c.initiate_connection()
    if settings:
        c.update_settings(settings)
    return c


def headers(path, method="GET", extra=()):
    return [(":method", method), (":scheme", "http"), (":authority", "127.0.0.1"), (":path", path)] + list(extra)


def http2_seeds():
    t = "FuzzHTTP2"
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    streams = []
    c = h2_client()
    c.send_headers(1, headers("/healthz"), end_stream=True)
    streams.append(c.data_to_send())
    c = h2_client()
    b = body(2)
    c.send_headers(1, headers("/v1/score", "POST", [("content-type", "application/json"), ("content-length", str(len(b)))]))
    c.send_data(1, b, end_stream=True)
    c.send_headers(3, headers("/metrics", extra=[("accept-encoding", "gzip")]), end_stream=True)
    c.ping(b"12345678")
    streams.append(c.data_to_send())
    c = h2_client({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1})
    c.send_headers(1, headers("/v1/score", "POST"))
    c.send_data(1, b[:100])
    c.reset_stream(1)
    c.send_headers(3, headers("/x", "POST"))
    c.send_data(3, b"a" * 5000, end_stream=True)
    c.increment_flow_control_window(65535)
    c.close_connection()
    streams.append(c.data_to_send())
    c = h2_client()
    gz = gzip.compress(b, mtime=0)
    c.send_headers(1, headers("/v1/score", "POST", [("content-encoding", "gzip")]))
    c.send_data(1, gz, end_stream=True)
    c.send_headers(3, headers("/t", "POST"), end_stream=False)
    c.send_data(3, b"x")
    c.send_headers(3, [("x-trailer", "1")], end_stream=True)
    streams.append(c.data_to_send())
    # HEADERS split into CONTINUATION frames by hand (h2 never splits): a 40-byte HEADERS block then CONTINUATIONs.
    c = h2_client()
    block = c.encoder.encode(headers("/healthz", extra=[("x-long", "v" * 200)]))
    frames = c.data_to_send()
    import struct

    def frame(ftype, flags, sid, payload):
        return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload

    frames += frame(1, 0x1, 1, block[:40]) + frame(9, 0, 1, block[40:120]) + frame(9, 0x4, 1, block[120:])
    streams.append(frames)
    for i, s in enumerate(streams):
        assert s.startswith(preface)
        write(t, bytes([i % 4]) + s[len(preface):])  # the target prepends the preface itself


def checkpoint_seeds():
    t = "FuzzCheckpoint"
    with open(os.path.join(ROOT, "Tests/RankingTests/Fixtures/golden-v1.fckpt"), "rb") as f:
        golden = f.read()
    write(t, b"\x00" + golden)  # as given
    write(t, b"\x01" + golden)  # checksums recomputed by the target
    write(t, b"\x00" + golden[:200])


if __name__ == "__main__":
    score_request_seeds()
    http1_seeds()
    http2_seeds()
    checkpoint_seeds()
    for t in sorted(os.listdir(os.path.join(HERE, "Corpus"))):
        print(t, len(os.listdir(os.path.join(HERE, "Corpus", t))), "seeds")
