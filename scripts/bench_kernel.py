#!/usr/bin/env python3
"""Compares Funnel's Swift inference kernel with onnxruntime on the same network, weights and inputs.

Runs `funnel-bench kernel`, which times the Swift kernels and leaves in --out the checkpoint it used and,
per batch size B, the B input rows it fed (batch-B.input.f32) and its fast kernel's pCTR/pCVR
(batch-B.output.f32). This script rebuilds the checkpoint's network as an ONNX graph, checks it against
a numpy forward pass and the Swift outputs, times it in onnxruntime on one thread and prints ratio tables.

Usage: python3 scripts/bench_kernel.py [--bench-binary .build/release/funnel-bench]
           [--spec config/models/benchmark.json] [--out bench-out] [--batches 1,16,64,256,1024]
           [--seconds 1.0] [--json results.json]

Exits non-zero on errors only; missed performance targets are reported as MISS.
"""

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import funnel_checkpoint

REPO = Path(__file__).resolve().parent.parent
TASKS = ("ctr", "cvr")
GROUPS = ("ctr", "cvr", "shared")  # softmax order of a gate's experts
OPSET = 17
SELF_CHECK_TOLERANCE = 1e-4
TARGET_GEMM_VS_OPENBLAS = 0.85
TARGET_FAST_VS_ORT = 0.9
TARGET_SHARED_VS_ORT = 1.3
TARGET_BATCH = 256
TARGET_MAX_DIFF = 1e-4
ROUNDS = 5


class BenchError(Exception):
    pass


@dataclass(frozen=True)
class Network:
    """The wiring of a checkpoint's "network" header; MMoE and shared-bottom are one-level PLE without task
    experts."""

    levels: int
    shared_experts: int
    specific_experts: int
    expert_layers: tuple
    tower_layers: tuple

    @classmethod
    def from_header(cls, spec: dict) -> "Network":
        towers = tuple(spec["tower_layers"])
        architecture = spec["architecture"]
        if spec.get("wide"):
            raise BenchError("the onnxruntime comparison does not build the wide part; use a network without \"wide\"")
        if spec.get("cross_layers"):
            raise BenchError("the onnxruntime comparison does not build cross layers; use a network without them")
        if architecture == "ple":
            return cls(spec.get("levels", 1), spec["shared_experts"], spec["specific_experts"],
                       tuple(spec["expert_layers"]), towers)
        if architecture == "mmoe":
            return cls(1, spec["experts"], 0, tuple(spec["expert_layers"]), towers)
        if architecture == "shared_bottom":
            return cls(1, 1, 0, tuple(spec["bottom_layers"]), towers)
        raise BenchError(f"unknown network architecture {architecture!r}")

    def expert_count(self, group: str) -> int:
        return self.shared_experts if group == "shared" else self.specific_experts

    def gate_experts(self, group: str) -> list:
        """(group, index) of the experts a group's gate mixes, in softmax order."""
        owners = GROUPS if group == "shared" else (group, "shared")
        return [(owner, index) for owner in owners for index in range(self.expert_count(owner))]

    def has_output(self, level: int, group: str) -> bool:
        """Task groups feed the next level or the towers; the shared group only feeds the next level."""
        return group != "shared" or level < self.levels - 1

    def expert_shapes(self, width: int) -> set:
        """(k, n) = (inputs, outputs) of every expert layer's GEMM."""
        shapes = set()
        for level_input in {width if level == 0 else self.expert_layers[-1] for level in range(self.levels)}:
            for layer in self.expert_layers:
                shapes.add((level_input, layer))
                level_input = layer
        return shapes


def forward(network: Network, ops, x):
    """The forward pass, written once against `ops` (numpy values or ONNX node builder); returns [pCTR, pCVR]."""
    inputs = {group: x for group in GROUPS}
    for level in range(network.levels):
        experts = {}
        for group in GROUPS:
            for index in range(network.expert_count(group)):
                h = inputs[group]
                for layer in range(len(network.expert_layers)):
                    h = ops.dense(h, f"bottom.{level}.{group}.{index}.layer{layer}", relu=True)
                experts[group, index] = h
        outputs = {}
        for group in GROUPS:
            if network.has_output(level, group):
                mixed = [experts[key] for key in network.gate_experts(group)]
                outputs[group] = (mixed[0] if len(mixed) == 1
                                  else ops.mix(inputs[group], f"bottom.{level}.gate.{group}.weight", mixed))
        inputs = outputs
    probabilities = []
    for task in TASKS:
        h = inputs[task]
        for layer in range(len(network.tower_layers)):
            h = ops.dense(h, f"tower.{task}.layer{layer}", relu=True)
        probabilities.append(ops.sigmoid(ops.dense(h, f"tower.{task}.logit", relu=False), name=task))
    return probabilities


class NumpyOps:
    def __init__(self, tensors: dict):
        self.tensors = tensors

    def dense(self, x, prefix, relu):
        y = x @ self.tensors[prefix + ".weight"] + self.tensors[prefix + ".bias"]
        return np.maximum(y, 0) if relu else y

    def mix(self, x, gate, experts):
        logits = x @ self.tensors[gate]
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        return sum(weights[:, i:i + 1] * expert for i, expert in enumerate(experts))

    def sigmoid(self, x, name):
        return np.exp(-np.logaddexp(0, -x))  # stable for large |x|


class OnnxOps:
    """Emits nodes named after the checkpoint tensors they use; weights become initializers."""

    def __init__(self, tensors: dict):
        self.tensors = tensors
        self.nodes = []
        self.initializers = {}

    def _weight(self, name):
        if name not in self.initializers:
            self.initializers[name] = numpy_helper.from_array(np.asarray(self.tensors[name], dtype=np.float32), name)
        return name

    def _node(self, op, inputs, outputs, **attributes):
        self.nodes.append(helper.make_node(op, inputs, outputs, name=outputs[0], **attributes))
        return outputs[0]

    def dense(self, x, prefix, relu):
        y = self._node("Gemm", [x, self._weight(prefix + ".weight"), self._weight(prefix + ".bias")],
                       [prefix + ".gemm"])
        return self._node("Relu", [y], [prefix + ".relu"]) if relu else y

    def mix(self, x, gate, experts):
        base = gate.removesuffix(".weight")
        logits = self._node("MatMul", [x, self._weight(gate)], [base + ".logits"])
        weights = self._node("Softmax", [logits], [base + ".softmax"], axis=-1)
        columns = [f"{base}.w{i}" for i in range(len(experts))]
        self._node("Split", [weights], columns, axis=1)  # opset 17: equal parts, one column each
        terms = [self._node("Mul", [column, expert], [f"{base}.term{i}"])
                 for i, (column, expert) in enumerate(zip(columns, experts))]
        return self._node("Sum", terms, [base + ".mixed"])

    def sigmoid(self, x, name):
        return self._node("Sigmoid", [x], [name])


def build_onnx(network: Network, tensors: dict, width: int) -> onnx.ModelProto:
    ops = OnnxOps(tensors)
    forward(network, ops, "x")
    graph = helper.make_graph(
        ops.nodes, "funnel", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info(task, TensorProto.FLOAT, ["batch", 1]) for task in TASKS],
        initializer=list(ops.initializers.values()))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8,
                              producer_name="funnel bench_kernel.py")
    onnx.checker.check_model(model)
    return model


def make_session(model: onnx.ModelProto) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def _mean_run_time(run, duration: float) -> float:
    runs, start = 0, time.perf_counter()
    while True:
        run()
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= duration:
            return elapsed / runs


def run_ort(session, x: np.ndarray, seconds: float):
    """Outputs [B, 2] and best-of-ROUNDS mean seconds per run. IO binding with preallocated outputs keeps
    Python conversion and allocation out of the timed loop, which matters at small batches."""
    binding = session.io_binding()
    binding.bind_cpu_input("x", x)
    outputs = np.empty((len(TASKS), len(x), 1), dtype=np.float32)
    for task, output in zip(TASKS, outputs):
        binding.bind_ortvalue_output(task, ort.OrtValue.ortvalue_from_numpy(output))

    def run():
        session.run_with_iobinding(binding)

    run()
    outputs = np.hstack(list(outputs))  # checked below, so ORT must have written into the bound buffers
    _mean_run_time(run, seconds / 10)  # warm-up
    best = min(_mean_run_time(run, seconds / ROUNDS) for _ in range(ROUNDS))
    return outputs, best


def run_funnel_bench(args) -> dict:
    binary = Path(args.bench_binary)
    if not binary.is_file():
        raise BenchError(f"{binary} not found (build it with `swift build -c release`)")
    command = [str(binary), "kernel", "--spec", str(args.spec), "--out", str(args.out),
               "--batches", args.batches, "--seconds", str(args.seconds)]
    print("$", " ".join(command), file=sys.stderr)
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True)  # its stderr passes through
    if result.returncode != 0:
        raise BenchError(f"{binary.name} exited with status {result.returncode}")
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise BenchError(f"{binary.name} did not print one JSON object: {error}") from None


def read_rows(path: Path, rows: int, columns: int) -> np.ndarray:
    values = np.fromfile(path, dtype="<f4")
    if values.size != rows * columns:
        raise BenchError(f"{path}: {values.size} floats, expected {rows} × {columns}")
    return values.reshape(rows, columns).astype(np.float32)


def input_width(network: Network, tensors: dict) -> int:
    group = next(group for group in GROUPS if network.expert_count(group) > 0)
    return tensors[f"bottom.0.{group}.0.layer0.weight"].shape[0]


def compare_batches(funnel: dict, network: Network, tensors: dict, session, out: Path, seconds: float) -> list:
    if not funnel["batches"]:
        raise BenchError("funnel-bench reported no batches")
    width = funnel["serving_width"]
    numpy_ops = NumpyOps(tensors)
    results = []
    for entry in funnel["batches"]:
        batch = entry["batch"]
        x = read_rows(out / f"batch-{batch}.input.f32", batch, width)
        swift = read_rows(out / f"batch-{batch}.output.f32", batch, 2)
        outputs, seconds_per_run = run_ort(session, x, seconds)
        reference = np.hstack([p.reshape(batch, 1) for p in forward(network, numpy_ops, x)])
        self_check = float(np.abs(outputs - reference).max())
        if not self_check < SELF_CHECK_TOLERANCE:
            raise BenchError(f"batch {batch}: ONNX graph and numpy forward differ by {self_check:.2e}")
        ort_cps = batch / seconds_per_run
        results.append({
            **entry,
            "ort_candidates_per_s": ort_cps,
            "ort_gflops": funnel["flop_per_candidate"] * ort_cps / 1e9,
            "fast_gflops": funnel["flop_per_candidate"] * entry["fast_candidates_per_s"] / 1e9,
            "fast_vs_reference": entry["fast_candidates_per_s"] / entry["reference_candidates_per_s"],
            "fast_vs_ort": entry["fast_candidates_per_s"] / ort_cps,
            "shared_vs_ort": entry["fast_shared_candidates_per_s"] / ort_cps,
            "max_abs_diff_ort": float(np.abs(outputs - swift).max()),
            "max_abs_diff_ort_numpy": self_check,
        })
    return results


def compare_gemms(funnel: dict, expert_shapes: set) -> list:
    return [{
        **entry,
        "expert_shape": (entry["k"], entry["n"]) in expert_shapes,
        "funnel_vs_openblas": entry["funnel_gflops"] / entry["openblas_gflops"],
        "funnel_vs_openblas_epilogue": entry["funnel_gflops"] / entry["openblas_epilogue_gflops"],
    } for entry in funnel["gemm"]]


def evaluate_targets(batches: list, gemms: list) -> list:
    """Each target with its measured value (None if not measured: a MISS) and PASS/MISS."""
    def target(text, value, holds, unit="×"):
        measured = "not measured" if value is None else f"{value:.1e}" if unit == "Δ" else f"{value:.2f}×"
        return {"target": text, "value": value, "measured": measured,
                "status": "PASS" if value is not None and holds(value) else "MISS"}

    worst = min((g["funnel_vs_openblas"] for g in gemms if g["expert_shape"]), default=None)
    at_target = next((b for b in batches if b["batch"] == TARGET_BATCH), {})
    return [
        target(f"funnel GEMM ≥ {TARGET_GEMM_VS_OPENBLAS}× OpenBLAS sgemm on every expert shape (worst)",
               worst, lambda v: v >= TARGET_GEMM_VS_OPENBLAS),
        target(f"funnel ≥ {TARGET_FAST_VS_ORT}× ORT cand/s at batch {TARGET_BATCH}",
               at_target.get("fast_vs_ort"), lambda v: v >= TARGET_FAST_VS_ORT),
        target(f"funnel shared ≥ {TARGET_SHARED_VS_ORT}× ORT cand/s at batch {TARGET_BATCH}",
               at_target.get("shared_vs_ort"), lambda v: v >= TARGET_SHARED_VS_ORT),
        target(f"max|Δ| funnel vs ORT ≤ {TARGET_MAX_DIFF:g} over all batches",
               max(b["max_abs_diff_ort"] for b in batches), lambda v: v <= TARGET_MAX_DIFF, unit="Δ"),
    ]


def print_table(headers: list, rows: list):
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    for line in [headers, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).rjust(width) for cell, width in zip(line, widths)))


def report(funnel: dict, batches: list, gemms: list, targets: list):
    print(f"spec {funnel['spec']}, checkpoint {funnel['checkpoint']}, serving width {funnel['serving_width']}, "
          f"{funnel['flop_per_candidate']:,} FLOP/candidate ({funnel['flop_per_candidate_shared']:,} shared), "
          f"AVX2+FMA {'yes' if funnel['avx2_fma'] else 'no'}, onnxruntime {ort.__version__} on 1 thread")
    print(f"ONNX graph vs numpy forward: max|Δ| {max(b['max_abs_diff_ort_numpy'] for b in batches):.1e}\n")
    print_table(
        ["batch", "reference cand/s", "funnel cand/s", "funnel shared cand/s", "ORT cand/s", "funnel/ref",
         "funnel/ORT", "shared/ORT", "funnel GFLOP/s", "ORT GFLOP/s", "max|Δ| vs ORT"],
        [[b["batch"], f"{b['reference_candidates_per_s']:,.0f}", f"{b['fast_candidates_per_s']:,.0f}",
          f"{b['fast_shared_candidates_per_s']:,.0f}", f"{b['ort_candidates_per_s']:,.0f}",
          f"{b['fast_vs_reference']:.2f}×", f"{b['fast_vs_ort']:.2f}×", f"{b['shared_vs_ort']:.2f}×",
          f"{b['fast_gflops']:.1f}", f"{b['ort_gflops']:.1f}", f"{b['max_abs_diff_ort']:.1e}"] for b in batches])
    print()
    print_table(
        ["GEMM (* expert)", "m×n×k", "funnel GFLOP/s", "OpenBLAS GFLOP/s", "OpenBLAS+bias+ReLU GFLOP/s",
         "funnel/OpenBLAS", "funnel/OpenBLAS+epilogue"],
        [[("* " if g["expert_shape"] else "") + g["name"], f"{g['m']}×{g['n']}×{g['k']}",
          f"{g['funnel_gflops']:.1f}", f"{g['openblas_gflops']:.1f}", f"{g['openblas_epilogue_gflops']:.1f}",
          f"{g['funnel_vs_openblas']:.2f}×", f"{g['funnel_vs_openblas_epilogue']:.2f}×"] for g in gemms])
    print("\ntargets")
    for target in targets:
        print(f"  {target['status']}  {target['target']}: {target['measured']}")


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark Funnel's Swift kernel against onnxruntime.")
    parser.add_argument("--bench-binary", default=REPO / ".build/release/funnel-bench", type=Path)
    parser.add_argument("--spec", default=REPO / "config/models/benchmark.json", type=Path)
    parser.add_argument("--out", default=REPO / "bench-out", type=Path)
    parser.add_argument("--batches", default="1,16,64,256,1024", help="comma-separated batch sizes")
    parser.add_argument("--seconds", default=1.0, type=float, help="timing budget per measurement")
    parser.add_argument("--json", type=Path, help="also write every number to this file")
    args = parser.parse_args()
    try:
        funnel = run_funnel_bench(args)
        header, tensors = funnel_checkpoint.load(args.out / "model.fckpt")
        network = Network.from_header(header["network"])
        width = input_width(network, tensors)
        if width != funnel["serving_width"]:
            raise BenchError(f"checkpoint reads {width} input columns, funnel-bench reports {funnel['serving_width']}")
        session = make_session(build_onnx(network, tensors, width))
        batches = compare_batches(funnel, network, tensors, session, args.out, args.seconds)
        gemms = compare_gemms(funnel, network.expert_shapes(width))
    except KeyError as error:
        print(f"error: missing {error} in the funnel-bench output or the checkpoint", file=sys.stderr)
        return 1
    except (BenchError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    targets = evaluate_targets(batches, gemms)
    report(funnel, batches, gemms, targets)
    if args.json:
        results = {"funnel": funnel, "onnxruntime_version": ort.__version__, "batches": batches, "gemm": gemms,
                   "targets": targets}
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
