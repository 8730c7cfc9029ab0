import ArgumentParser
import CFunnelKernels
import COpenBLAS
import Foundation
import Ranking

/// Candidates/s and GFLOP/s of the fast network (with and without user-side sharing) against the reference
/// network, and of the packed GEMM against OpenBLAS on the network's shapes, single-threaded. Writes the
/// checkpoint and each batch's embedded inputs and outputs so scripts/bench_kernel.py can run onnxruntime
/// on exactly the same work. Prints one JSON object.
struct KernelBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kernel", abstract: "Benchmark the inference kernel.")

    @Option(help: "Model spec JSON.") var spec = "config/models/benchmark.json"
    @Option(help: "Directory for the checkpoint and the batch inputs/outputs.") var out = "bench-out"
    @Option(help: "Batch sizes (candidate rows).") var batches = "1,16,64,256,1024"
    @Option(help: "Candidates per request; requests in one batch share nothing.") var candidatesPerRequest = 100
    @Option(help: "Seconds spent timing each measurement.") var seconds = 1.0
    @Option(help: "Seed of the weights and inputs.") var seed: UInt64 = 1

    func run() throws {
        openblas_set_num_threads(1)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let modelSpec = try StrictJSON.decode(ModelSpec.self, from: Data(contentsOf: URL(fileURLWithPath: spec)))
        let header = CheckpointHeader(
            model: ModelIdentity(name: "benchmark", version: 1), features: modelSpec.features,
            network: modelSpec.network, score: modelSpec.score,
            training: TrainingMetadata(producer: "funnel-bench kernel", seed: seed))
        let path = out + "/model.fckpt"
        try CheckpointWriter(header: header, tensors: RandomInitializer.tensors(for: modelSpec.shape, seed: seed))
            .write(toFile: path)
        let checkpoint = try Checkpoint(contentsOfFile: path)
        let network = InferenceNetwork(checkpoint: checkpoint)
        let shape = checkpoint.shape

        var report = KernelReport(
            spec: spec, checkpoint: path, servingWidth: shape.layout.servingWidth,
            flopPerCandidate: 2 * shape.multiplyAddsPerRow,
            flopPerCandidateShared: 2 * shape.multiplyAddsPerRowSharingUserSide,
            avx2FMA: funnel_has_avx2_fma() == 1, batches: [], gemm: [])
        for batch in batches.split(separator: ",").compactMap({ Int($0) }) {
            report.batches.append(try measureBatch(batch, network))
            if batch >= 64 { report.gemm += measureGEMM(rows: batch, shape: shape) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    }

    private func measureBatch(_ rows: Int, _ network: InferenceNetwork) throws -> KernelReport.Batch {
        let requests = (rows + candidatesPerRequest - 1) / candidatesPerRequest
        let workspace = network.makeWorkspace(maxRows: rows, maxRequests: requests)
        try fillRandomRequests(workspace, network, rows: rows)
        network.embed(workspace)

        var inputs: [Float] = []
        for row in 0..<rows { inputs += workspace.inputRow(row) }
        network.forward(workspace)
        let outputs = (0..<rows).flatMap { [workspace.ctr.pointer[$0], workspace.cvr.pointer[$0]] }
        try write(inputs, to: "\(out)/batch-\(rows).input.f32")
        try write(outputs, to: "\(out)/batch-\(rows).output.f32")

        let reference = ReferenceNetwork(checkpoint: network.checkpoint)
        let sample = min(rows, 32)  // the reference is slow; its per-row cost does not depend on the batch
        var maxDifference: Float = 0
        for row in 0..<sample {
            let want = reference.predict(input: workspace.inputRow(row), wide: workspace.wideRow(row))
            maxDifference = max(maxDifference, abs(want.ctr - outputs[2 * row]), abs(want.cvr - outputs[2 * row + 1]))
        }
        let sampleInputs = (0..<sample).map { (workspace.inputRow($0), workspace.wideRow($0)) }
        let referenceTime = bestSecondsPerCall(seconds: seconds) {
            for (input, wide) in sampleInputs { _ = reference.predict(input: input, wide: wide) }
        }
        let fast = bestSecondsPerCall(seconds: seconds) { network.forward(workspace, sharingUserSide: false) }
        let shared = bestSecondsPerCall(seconds: seconds) { network.forward(workspace, sharingUserSide: true) }
        let endToEnd = bestSecondsPerCall(seconds: seconds) { network.run(workspace) }
        return KernelReport.Batch(
            batch: rows, requests: requests, referenceCandidatesPerS: Double(sample) / referenceTime,
            fastCandidatesPerS: Double(rows) / fast, fastSharedCandidatesPerS: Double(rows) / shared,
            endToEndCandidatesPerS: Double(rows) / endToEnd, maxAbsDiffReference: Double(maxDifference))
    }

    /// Requests of `candidatesPerRequest` candidates (the last one shorter), with random ids and values.
    private func fillRandomRequests(_ workspace: InferenceWorkspace, _ network: InferenceNetwork, rows: Int) throws {
        let encoder = FeatureEncoder(spec: network.checkpoint.header.features)
        var random = SplitMix64(seed: seed &+ UInt64(rows))
        func values(_ kind: InputLayout.BlockKind) -> [String: FeatureValue] {
            var values: [String: FeatureValue] = [:]
            for index in encoder.layout.block(kind).fields {
                let field = encoder.spec.fields[index]
                switch field.kind {
                case .numeric: values[field.name] = .double(random.uniform(0, 100))
                case .categorical, .multiCategorical: values[field.name] = .int(Int64(random.next() % 1_000_000))
                case .cross: break  // computed from its components
                }
            }
            return values
        }
        var remaining = rows
        while remaining > 0 {
            let size = min(remaining, candidatesPerRequest)
            let slots = workspace.appendRequest(candidates: size)!
            let shared = values(.shared)
            try encoder.encode(shared, block: .shared, indices: slots.sharedIndices, weights: slots.sharedWeights)
            for row in 0..<size {
                try encoder.encode(
                    values(.item), block: .item, shared: shared, indices: slots.itemIndices + row * slots.itemSlotCount,
                    weights: slots.itemWeights + row * slots.itemSlotCount)
            }
            remaining -= size
        }
    }

    /// The network's GEMM shapes at `rows` rows: packed GEMM with fused bias+ReLU vs OpenBLAS sgemm alone
    /// and vs sgemm followed by the same bias+ReLU pass.
    private func measureGEMM(rows m: Int, shape: NetworkShape) -> [KernelReport.GEMM] {
        let layers = shape.network.expertLayers
        var shapes: [(String, Int, Int)] = [
            ("expert layer 0", shape.layout.servingWidth, layers[0]),
            ("level-0 fused layer", shape.layout.servingWidth, shape.levelZeroWidth),
        ]
        for (index, width) in layers.enumerated().dropFirst() {
            shapes.append(("expert layer \(index)", layers[index - 1], width))
        }
        if let tower = shape.network.towerLayers.first { shapes.append(("tower layer 0", layers.last!, tower)) }
        var random = SplitMix64(seed: seed)
        return shapes.map { name, k, n in
            let a = AlignedFloats((0..<m * k).map { _ in Float(random.uniform(-1, 1)) })
            let b = AlignedFloats((0..<k * n).map { _ in Float(random.uniform(-1, 1)) })
            let bias = AlignedFloats((0..<n).map { _ in Float(random.uniform(-1, 1)) })
            let c = AlignedFloats(count: m * n)
            let packed = PackedMatrix(b.pointer, rows: k, columns: n, stride: n)
            let funnel = bestSecondsPerCall(seconds: seconds) {
                packed.multiply(
                    a.pointer, rows: m, stride: k, bias: bias.pointer, into: c.pointer, stride: n, reluColumns: n)
            }
            func sgemm() {
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a.pointer, Int32(k),
                    b.pointer, Int32(n), 0, c.pointer, Int32(n))
            }
            let blas = bestSecondsPerCall(seconds: seconds) { sgemm() }
            let blasEpilogue = bestSecondsPerCall(seconds: seconds) {
                sgemm()
                for i in 0..<m {
                    let row = c.pointer + i * n
                    for j in 0..<n { row[j] = max(row[j] + bias.pointer[j], 0) }
                }
            }
            let flop = 2.0 * Double(m * n * k)
            return KernelReport.GEMM(
                name: "\(name) \(m)×\(k)·\(k)×\(n)", m: m, n: n, k: k, funnelGflops: flop / funnel / 1e9,
                openblasGflops: flop / blas / 1e9, openblasEpilogueGflops: flop / blasEpilogue / 1e9)
        }
    }

    private func write(_ values: [Float], to path: String) throws {
        try values.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: path)) }
    }
}

struct KernelReport: Encodable {
    struct Batch: Encodable {
        let batch: Int
        let requests: Int
        let referenceCandidatesPerS: Double
        let fastCandidatesPerS: Double
        let fastSharedCandidatesPerS: Double
        let endToEndCandidatesPerS: Double
        let maxAbsDiffReference: Double
    }

    struct GEMM: Encodable {
        let name: String
        let m: Int
        let n: Int
        let k: Int
        let funnelGflops: Double
        let openblasGflops: Double
        let openblasEpilogueGflops: Double
    }

    let spec: String
    let checkpoint: String
    let servingWidth: Int
    let flopPerCandidate: Int
    let flopPerCandidateShared: Int
    let avx2FMA: Bool
    var batches: [Batch]
    var gemm: [GEMM]
}
