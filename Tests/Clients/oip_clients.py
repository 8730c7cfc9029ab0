"""The KServe V2 / Open Inference Protocol from the clients Triton and KServe users already have, against a real
funnel-serve on the default model, over real sockets:
- tritonclient[http] (HTTP/1.1, JSON tensors: binary_data=False);
- tritonclient[grpc] (grpcio: HTTP/2, raw little-endian tensors), and grpcio's health stub;
- kserve's InferenceRESTClient over HTTP/2 (httpx with http1=False), in a child process: kserve and
  tritonclient.grpc each register the protocol's messages under the same names, which one process refuses.
Each answer must equal /v1/score's for the same candidates within 1e-6 (relative to max(1, |value|)).

    python3 Tests/Clients/oip_clients.py [--binary .build/release/funnel-serve]

Prints one line per check; exit status 1 if any failed."""
import argparse, asyncio, json, os, random, subprocess, sys, urllib.request

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Abuse"))
from funnel_client import Daemon  # noqa: E402

MODEL = "funnel-student"
OUTPUTS = ["pctr", "pcvr", "pctcvr", "score"]
failures = []


def check(name, condition, detail=""):
    print(f"{'ok  ' if condition else 'FAIL'} {name}" + (f": {detail}" if detail and not condition else ""))
    if not condition:
        failures.append(name)


def close(a, b):
    return all(abs(x - y) <= 1e-6 * max(1.0, abs(y)) for x, y in zip(a, b)) and len(a) == len(b)


class Candidates:
    """Random values for every serving feature, as OIP tensors and as the equivalent /v1/score body."""

    def __init__(self, metadata, count, seed):
        rng = random.Random(seed)
        self.count = count
        self.tensors = []  # (name, shape, datatype, numpy array)
        self.shared, self.items = {}, [dict() for _ in range(count)]
        for spec in metadata["inputs"]:
            name, datatype, shape = spec["name"], spec["datatype"], spec["shape"]
            rows = 1 if shape[0] == 1 else count
            if len(shape) == 2:  # multi-categorical: ragged lists padded with ""
                lists = [[f"{name}-{rng.randrange(20)}" for _ in range(rng.randrange(4))] for _ in range(rows)]
                width = max(1, max(len(row) for row in lists))
                array = np.array([row + [""] * (width - len(row)) for row in lists], dtype=object)
                values = lists
            elif datatype == "BYTES":
                values = [f"{name}-{rng.randrange(50)}" for _ in range(rows)]
                array = np.array(values, dtype=object)
            else:
                values = [round(rng.uniform(0, 200), 3) for _ in range(rows)]
                array = np.array(values, dtype=np.float64)
            self.tensors.append((name, list(array.shape), datatype, array))
            if rows == 1 and shape[0] == 1:
                self.shared[name] = values[0]
            else:
                for item, value in zip(self.items, values):
                    item[name] = value

    def v1_body(self, fields, top_k=None):
        groups = {f["name"]: f["group"] for f in fields}
        body = {"user": {k: v for k, v in self.shared.items() if groups[k] == "user"},
                "context": {k: v for k, v in self.shared.items() if groups[k] == "context"},
                "candidates": [{"id": str(i), "features": item} for i, item in enumerate(self.items)]}
        if top_k:
            body["top_k"] = top_k
        return body


def v1_score(port, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/score", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["results"]


def v1_fields(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=10) as response:
        return json.load(response)["models"][0]["features"]


def tritonclient_checks(port, fields):
    import tritonclient.http as triton_http
    from tritonclient.utils import InferenceServerException

    def triton_inputs(candidates):
        inputs = []
        for name, shape, datatype, array in candidates.tensors:
            tensor = triton_http.InferInput(name, shape, datatype)
            tensor.set_data_from_numpy(array, binary_data=False)
            inputs.append(tensor)
        return inputs

    client = triton_http.InferenceServerClient(f"127.0.0.1:{port}")
    check("tritonclient: server live", client.is_server_live())
    check("tritonclient: server ready", client.is_server_ready())
    check("tritonclient: model ready", client.is_model_ready(MODEL))
    check("tritonclient: unknown model not ready", not client.is_model_ready("no-such-model"))
    metadata = client.get_model_metadata(MODEL)
    check("tritonclient: metadata lists one input per serving feature",
          sorted(i["name"] for i in metadata["inputs"]) == sorted(f["name"] for f in fields),
          f"{metadata['inputs']} vs {[f['name'] for f in fields]}")
    check("tritonclient: server metadata", client.get_server_metadata()["name"] == "funnel-serve")

    candidates = Candidates(metadata, 23, seed=1)
    expected = v1_score(port, candidates.v1_body(fields))
    requested = [triton_http.InferRequestedOutput(name, binary_data=False) for name in OUTPUTS]
    result = client.infer(MODEL, triton_inputs(candidates), outputs=requested, request_id="req-7")
    check("tritonclient: the request id is echoed", result.get_response().get("id") == "req-7")
    for name in OUTPUTS:
        got = result.as_numpy(name).tolist()
        want = [r[name] for r in expected]
        check(f"tritonclient: {name} equals /v1/score's", close(got, want), f"{got[:3]} vs {want[:3]}")

    # No outputs named: tritonclient asks for binary outputs; JSON ones come back and it reads them.
    result = client.infer(MODEL, triton_inputs(candidates))
    check("tritonclient: default outputs", close(result.as_numpy("pctr").tolist(), [r["pctr"] for r in expected]))

    ranked = v1_score(port, candidates.v1_body(fields, top_k=5))
    result = client.infer(MODEL, triton_inputs(candidates), parameters={"top_k": 5}, outputs=[
        triton_http.InferRequestedOutput("candidate_index", binary_data=False),
        triton_http.InferRequestedOutput("score", binary_data=False)])
    check("tritonclient: top_k ranks as /v1/score does",
          result.as_numpy("candidate_index").tolist() == [int(r["id"]) for r in ranked]
          and close(result.as_numpy("score").tolist(), [r["score"] for r in ranked]))

    bad = triton_http.InferInput("colour", [1], "BYTES")
    bad.set_data_from_numpy(np.array(["red"], dtype=object), binary_data=False)
    try:
        client.infer(MODEL, triton_inputs(candidates) + [bad])
        check("tritonclient: an unknown input is refused", False, "accepted")
    except InferenceServerException as error:
        check("tritonclient: an unknown input is refused with its name",
              error.status() == "400" and "colour" in error.message(), f"{error.status()} {error.message()}")
    return metadata


def grpc_checks(port, fields, metadata):
    import grpc
    import tritonclient.grpc as triton_grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    client = triton_grpc.InferenceServerClient(f"127.0.0.1:{port}")
    check("tritonclient grpc: server live", client.is_server_live())
    check("tritonclient grpc: server ready", client.is_server_ready())
    check("tritonclient grpc: model ready", client.is_model_ready(MODEL))
    check("tritonclient grpc: unknown model not ready", not client.is_model_ready("no-such-model"))
    grpc_metadata = client.get_model_metadata(MODEL, as_json=True)
    check("tritonclient grpc: metadata equals the REST metadata",
          [(i["name"], i["datatype"], [int(d) for d in i["shape"]]) for i in grpc_metadata["inputs"]]
          == [(i["name"], i["datatype"], i["shape"]) for i in metadata["inputs"]])
    check("tritonclient grpc: server metadata", client.get_server_metadata(as_json=True)["name"] == "funnel-serve")

    candidates = Candidates(metadata, 19, seed=3)
    expected = v1_score(port, candidates.v1_body(fields))
    inputs = []
    for name, shape, datatype, array in candidates.tensors:
        tensor = triton_grpc.InferInput(name, shape, datatype)
        tensor.set_data_from_numpy(array)  # raw_input_contents
        inputs.append(tensor)
    result = client.infer(MODEL, inputs, request_id="g-1", client_timeout=10)
    check("tritonclient grpc: the request id is echoed", result.get_response().id == "g-1")
    for name in OUTPUTS:
        got = result.as_numpy(name).tolist()
        want = [r[name] for r in expected]
        check(f"tritonclient grpc: {name} equals /v1/score's", close(got, want), f"{got[:3]} vs {want[:3]}")
    ranked = v1_score(port, candidates.v1_body(fields, top_k=4))
    result = client.infer(MODEL, inputs, parameters={"top_k": 4},
                          outputs=[triton_grpc.InferRequestedOutput("candidate_index")])
    check("tritonclient grpc: top_k ranks as /v1/score does",
          result.as_numpy("candidate_index").tolist() == [int(r["id"]) for r in ranked])
    bad = triton_grpc.InferInput("colour", [1], "BYTES")
    bad.set_data_from_numpy(np.array(["red"], dtype=object))
    try:
        client.infer(MODEL, inputs + [bad])
        check("tritonclient grpc: an unknown input is refused", False, "accepted")
    except triton_grpc.InferenceServerException as error:
        check("tritonclient grpc: an unknown input is INVALID_ARGUMENT with its name",
              error.status() == "StatusCode.INVALID_ARGUMENT" and "colour" in error.message(),
              f"{error.status()} {error.message()}")
    try:
        client.infer("no-such-model", inputs)
        check("tritonclient grpc: an unknown model is refused", False, "accepted")
    except triton_grpc.InferenceServerException as error:
        check("tritonclient grpc: an unknown model is NOT_FOUND", error.status() == "StatusCode.NOT_FOUND",
              error.status())

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        serving = health_pb2.HealthCheckResponse.SERVING
        check("grpc health: the server is SERVING", health.Check(health_pb2.HealthCheckRequest()).status == serving)
        check("grpc health: the model is SERVING",
              health.Check(health_pb2.HealthCheckRequest(service=MODEL)).status == serving)
        try:
            health.Check(health_pb2.HealthCheckRequest(service="no-such-service"))
            check("grpc health: an unknown service is NOT_FOUND", False, "answered")
        except grpc.RpcError as error:
            check("grpc health: an unknown service is NOT_FOUND", error.code() == grpc.StatusCode.NOT_FOUND)
        try:
            next(iter(health.Watch(health_pb2.HealthCheckRequest())))
            check("grpc health: Watch is UNIMPLEMENTED", False, "answered")
        except grpc.RpcError as error:
            check("grpc health: Watch is UNIMPLEMENTED", error.code() == grpc.StatusCode.UNIMPLEMENTED, error.code())


async def kserve_checks(port, fields, metadata):
    import httpx
    from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig

    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(http1=False, http2=True) as probe:
        version = (await probe.get(f"{base}/v2")).http_version
    check("kserve: the connection is HTTP/2", version == "HTTP/2", version)
    config = RESTConfig(protocol="v2", http2=True, transport=httpx.AsyncHTTPTransport(http1=False, http2=True))
    client = InferenceRESTClient(config)
    try:
        check("kserve: server live", await client.is_server_live(base))
        check("kserve: server ready", await client.is_server_ready(base))
        check("kserve: model ready", await client.is_model_ready(base, MODEL))
        candidates = Candidates(metadata, 31, seed=2)
        expected = v1_score(port, candidates.v1_body(fields))
        inputs = []
        for name, shape, datatype, array in candidates.tensors:
            tensor = InferInput(name, shape, datatype)
            tensor.set_data_from_numpy(array, binary_data=False)
            inputs.append(tensor)
        request = InferRequest(model_name=MODEL, infer_inputs=inputs, request_id="k-1")
        response = await client.infer(base, request, model_name=MODEL)
        check("kserve: the request id is echoed", response.id == "k-1")
        outputs = {output.name: output.data for output in response.outputs}
        for name in OUTPUTS:
            want = [r[name] for r in expected]
            check(f"kserve: {name} equals /v1/score's", close(list(outputs.get(name, [])), want))
    finally:
        await client.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", help="funnel-serve to run (default: $FUNNEL_SERVE or .build-rel/release)")
    parser.add_argument("--kserve-port", type=int, help=argparse.SUPPRESS)  # the child process's part
    args = parser.parse_args()
    if args.kserve_port:
        fields = v1_fields(args.kserve_port)
        with urllib.request.urlopen(f"http://127.0.0.1:{args.kserve_port}/v2/models/{MODEL}", timeout=10) as r:
            metadata = json.load(r)
        asyncio.run(kserve_checks(args.kserve_port, fields, metadata))
        sys.exit(1 if failures else 0)
    daemon = Daemon(binary=args.binary)
    try:
        fields = v1_fields(daemon.port)
        metadata = tritonclient_checks(daemon.port, fields)
        grpc_checks(daemon.port, fields, metadata)
        sys.stdout.flush()
        child = subprocess.run([sys.executable, __file__, "--kserve-port", str(daemon.port)])
        check("kserve: every check passed", child.returncode == 0)
        check("the daemon is still up", daemon.alive())
    finally:
        daemon.stop()
    print(f"oip_clients: {len(failures)} failed" if failures else "oip_clients: all passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
