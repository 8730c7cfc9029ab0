import Foundation
import Ranking
import Testing

/// A 1 GiB embedding table is served from the memory map, never copied into the heap: mapped from the file itself,
/// or from the private copy a server makes (in the kernel, or as a reflink).
struct LargeCheckpointTests {
    /// Anonymous (non file-backed) resident memory of this process, in bytes.
    func anonymousResidentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") }!
        return Int(line.split(separator: " ")[1])! * 1024
    }

    @Test func gibibyteTableLoadsWithoutACopy() throws {
        let rows = 1 << 22, dimension = 64  // 4 Mi rows × 256 B = 1 GiB
        let features = FeatureSpec(fields: [
            FieldSpec(name: "user_id", group: .user, kind: .categorical(buckets: 16), dimension: 4),
            FieldSpec(name: "item_id", group: .item, kind: .categorical(buckets: rows), dimension: dimension),
        ])
        let network = NetworkSpec.sharedBottom(layers: [8], towerLayers: [])
        let shape = NetworkShape(features: features, network: network)
        let path = NSTemporaryDirectory() + "funnel-large-\(UUID()).fckpt"
        defer { unlink(path) }
        do {
            // Random weights from a copy of the spec with a small table (fast), then the 1 GiB table in its place.
            var small = features
            small.fields[1].kind = .categorical(buckets: 2)
            var tensors = RandomInitializer.tensors(for: NetworkShape(features: small, network: network), seed: 1)
            let table = shape.tensors.first { $0.name == "embedding.item_id" }!
            var values = [Float](repeating: 0, count: table.count)
            values[(rows - 1) * dimension] = 42  // the last row, to read back through the map
            tensors[tensors.firstIndex { $0.name == table.name }!] = CheckpointWriter.Tensor(
                name: table.name, shape: table.shape, values: values)
            let header = CheckpointHeader(
                model: ModelIdentity(name: "large", version: 1), features: features, network: network,
                score: ScoreFormula(), training: TrainingMetadata(producer: "LargeCheckpointTests"))
            try CheckpointWriter(header: header, tensors: tensors).write(toFile: path)
        }
        let before = try anonymousResidentBytes()
        let checkpoint = try Checkpoint(contentsOfFile: path)
        let grown = try anonymousResidentBytes() - before
        #expect(grown < 64 << 20, "loading grew anonymous memory by \(grown >> 20) MiB")

        let table = checkpoint.values("embedding.item_id")
        #expect(table.count * 4 == 1 << 30)
        let start = UnsafeRawPointer(table.baseAddress!)
        #expect(start >= checkpoint.baseAddress && start + (1 << 30) <= checkpoint.baseAddress + checkpoint.byteCount)
        #expect(table[(rows - 1) * dimension] == 42)

        // Scoring reads the table in place too.
        let inference = InferenceNetwork(checkpoint: checkpoint)
        #expect(try anonymousResidentBytes() - before < 64 << 20)
        let workspace = inference.makeWorkspace(maxRows: 1, maxRequests: 1)
        let slots = workspace.appendRequest(candidates: 1)!
        slots.itemIndices[0] = Int32(rows - 1)
        slots.itemWeights[0] = 1
        inference.run(workspace)
        let expected = ReferenceNetwork(checkpoint: checkpoint).predict(
            input: workspace.inputRow(0), wide: workspace.wideRow(0))
        #expect(abs(workspace.prediction(row: 0).ctr - expected.ctr) <= 1e-6)

        // The server's private copy: same bytes, no heap copy, and independent of the file from then on.
        let copyStart = try anonymousResidentBytes()
        let copy = try Checkpoint(privateCopyOf: path, in: NSTemporaryDirectory())
        #expect(try anonymousResidentBytes() - copyStart < 64 << 20)
        #expect(truncate(path, 0) == 0)
        #expect(copy.values("embedding.item_id")[(rows - 1) * dimension] == 42)
    }
}
