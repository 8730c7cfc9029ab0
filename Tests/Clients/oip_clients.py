"""The KServe V2 / Open Inference Protocol from the clients Triton and KServe users already have, against a real
funnel-serve on the default model, over real sockets:
- tritonclient[http] (HTTP/1.1, JSON tensors: binary_data=False);
- kserve's InferenceRESTClient over HTTP/2 (httpx with http1=False).
Each answer must equal /v1/score's for the same candidates within 1e-6 (relative to max(1, |value|)).

    python3 Tests/Clients/oip_clients.py [--binary .build/release/funnel-serve]

Prints one line per check; exit status 1 if any failed."""
import argparse, asyncio, json, os, random, sys, urllib.request

import httpx
import numpy as np
import tritonclient.http as triton_http
from tritonclient.utils import InferenceServerException

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


def triton_inputs(candidates):
    inputs = []
    for name, shape, datatype, array in candidates.tensors:
        tensor = triton_http.InferInput(name, shape, datatype)
        tensor.set_data_from_numpy(array, binary_data=False)
        inputs.append(tensor)
    return inputs


def tritonclient_checks(port, fields):
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


async def kserve_checks(port, fields, metadata):
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
    args = parser.parse_args()
    daemon = Daemon(binary=args.binary)
    try:
        fields = v1_fields(daemon.port)
        metadata = tritonclient_checks(daemon.port, fields)
        asyncio.run(kserve_checks(daemon.port, fields, metadata))
        check("the daemon is still up", daemon.alive())
    finally:
        daemon.stop()
    print(f"oip_clients: {len(failures)} failed" if failures else "oip_clients: all passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
