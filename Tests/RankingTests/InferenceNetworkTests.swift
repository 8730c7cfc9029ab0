import CFunnelKernels
import Foundation
import Ranking
import Testing

/// The fast network against the reference (the specification), on every architecture.
struct InferenceNetworkTests {
    static let architectures = Array(TestModels.networks.indices)

    /// Max over rows and outputs of |fast − reference| / max(|reference|, 1e-3).
    func maxRelativeError(_ network: InferenceNetwork, _ workspace: InferenceWorkspace) -> Float {
        var worst: Float = 0
        for row in 0..<workspace.rowCount {
            let want = ReferenceNetwork.prediction(of: network.checkpoint, workspace: workspace, row: row)
            let got = workspace.prediction(row: row)
            for (a, b) in [(got.ctr, want.ctr), (got.cvr, want.cvr), (got.ctcvr, want.ctcvr)] {
                worst = max(worst, abs(a - b) / max(abs(b), 1e-3))
            }
        }
        return worst
    }

    @Test(arguments: architectures)
    func fastMatchesReference(architecture: Int) throws {
        let checkpoint = try TestModels.checkpoint(network: TestModels.networks[architecture])
        let network = InferenceNetwork(checkpoint: checkpoint)
        let workspace = network.makeWorkspace(maxRows: 64, maxRequests: 4)
        let encoder = FeatureEncoder(spec: checkpoint.header.features)
        for sizes in [[1], [7], [33], [5, 1, 20, 7]] {
            try fillWorkspace(workspace, encoder: encoder, requestSizes: sizes, seed: UInt64(sizes.reduce(0, +)))
            network.run(workspace)
            #expect(maxRelativeError(network, workspace) <= 1e-5, "requests \(sizes)")
        }
    }

    /// With a separate CTR network (each architecture, beside the next one's student) the kernel matches the
    /// reference, its pCTR is that network's alone (the same weights as a student-only checkpoint give it), and
    /// pCTR × pCVR is the student's own pCTCVR, capped at the pCTR.
    @Test(arguments: architectures)
    func aSeparateCTRNetworkSetsPCTRAndKeepsTheStudentsPCTCVR(architecture: Int) throws {
        let student = TestModels.networks[(architecture + 1) % TestModels.networks.count]
        let ctrSpec = TestModels.networks[architecture]
        let writer = TestModels.writer(network: student, ctrNetwork: ctrSpec)
        let checkpoint = try Checkpoint(bytes: try writer.encoded())
        let network = InferenceNetwork(checkpoint: checkpoint)
        // The two halves as checkpoints of their own.
        func alone(_ spec: NetworkSpec, prefix: String) throws -> InferenceNetwork {
            var header = writer.header
            header.network = spec
            header.ctrNetwork = nil
            let tensors = writer.tensors.filter { $0.name.hasPrefix(NetworkShape.ctrNetworkPrefix) == !prefix.isEmpty }
                .map {
                    CheckpointWriter.Tensor(
                        name: String($0.name.dropFirst(prefix.count)), shape: $0.shape, values: $0.values)
                }
            return InferenceNetwork(
                checkpoint: try Checkpoint(bytes: try CheckpointWriter(header: header, tensors: tensors).encoded()))
        }
        let studentAlone = try alone(student, prefix: "")
        let ctrAlone = try alone(ctrSpec, prefix: NetworkShape.ctrNetworkPrefix)
        let encoder = FeatureEncoder(spec: checkpoint.header.features)
        let sizes = [5, 1, 20, 7]
        let workspaces = [network, studentAlone, ctrAlone].map { $0.makeWorkspace(maxRows: 64, maxRequests: 4) }
        for workspace in workspaces { try fillWorkspace(workspace, encoder: encoder, requestSizes: sizes, seed: 21) }
        network.run(workspaces[0])
        studentAlone.run(workspaces[1])
        ctrAlone.run(workspaces[2])
        #expect(maxRelativeError(network, workspaces[0]) <= 1e-5)
        for row in 0..<workspaces[0].rowCount {
            let combined = workspaces[0].prediction(row: row)
            let fromStudent = workspaces[1].prediction(row: row), pCTR = workspaces[2].prediction(row: row).ctr
            #expect(combined.ctr == pCTR)
            #expect(combined == Prediction(student: fromStudent, separateCTR: pCTR))
            let expected = min(fromStudent.ctcvr, pCTR)
            #expect(abs(combined.ctcvr - expected) <= 1e-6 * max(expected, 1e-3))
        }
    }

    @Test func theSeparateCTRRatioIsBoundedAndTotal() {
        let student = Prediction(ctr: 0.5, cvr: 0.25)  // pCTCVR 0.125
        #expect(Prediction(student: student, separateCTR: 0.25) == Prediction(ctr: 0.25, cvr: 0.5))
        #expect(Prediction(student: student, separateCTR: 0.0625) == Prediction(ctr: 0.0625, cvr: 1))
        #expect(Prediction(student: student, separateCTR: 0) == Prediction(ctr: 0, cvr: 1))
        #expect(Prediction(student: Prediction(ctr: 0, cvr: 0.3), separateCTR: 0) == Prediction(ctr: 0, cvr: 1))
        #expect(Prediction(student: Prediction(ctr: 0, cvr: 0.3), separateCTR: 0.5) == Prediction(ctr: 0.5, cvr: 0))
    }

    @Test(arguments: architectures)
    func sharingGivesTheSameAnswers(architecture: Int) throws {
        let checkpoint = try TestModels.checkpoint(network: TestModels.networks[architecture])
        let network = InferenceNetwork(checkpoint: checkpoint)
        let workspace = network.makeWorkspace(maxRows: 64, maxRequests: 4)
        try fillWorkspace(
            workspace, encoder: FeatureEncoder(spec: checkpoint.header.features), requestSizes: [3, 30, 1, 12], seed: 5)
        network.run(workspace, sharingUserSide: false)
        let unshared = (0..<workspace.rowCount).map { workspace.prediction(row: $0) }
        network.run(workspace, sharingUserSide: true)
        for row in 0..<workspace.rowCount {
            let shared = workspace.prediction(row: row)
            #expect(abs(shared.ctr - unshared[row].ctr) <= 1e-6 && abs(shared.cvr - unshared[row].cvr) <= 1e-6)
        }
    }

    /// Cross layers on bounded inputs (the test spec's raw numeric fields left out), where the outputs stay away from
    /// 0 and 1, so a wrong cross term cannot hide behind saturated sigmoids.
    @Test func crossLayersMatchReference() throws {
        var network = NetworkSpec.sharedBottom(layers: [10], towerLayers: [4])
        network.crossLayers = 3
        let features = FeatureSpec(
            hashSeed: 5, fields: TestModels.features.fields.filter { !["price", "item_ctr"].contains($0.name) })
        let checkpoint = try TestModels.checkpoint(network: network, features: features)
        let inference = InferenceNetwork(checkpoint: checkpoint)
        let workspace = inference.makeWorkspace(maxRows: 64, maxRequests: 4)
        try fillWorkspace(workspace, encoder: FeatureEncoder(spec: features), requestSizes: [20, 9, 31], seed: 8)
        inference.run(workspace)
        let ctr = (0..<workspace.rowCount).map { workspace.prediction(row: $0).ctr }
        #expect(ctr.allSatisfy { $0 > 0.01 && $0 < 0.99 } && Set(ctr).count > 30)
        #expect(maxRelativeError(inference, workspace) <= 1e-5)
    }

    @Test func scalarFallbackMatchesReference() throws {
        let checkpoint = try TestModels.checkpoint(network: TestModels.networks[2])
        let network = InferenceNetwork(checkpoint: checkpoint)
        let workspace = network.makeWorkspace(maxRows: 16, maxRequests: 2)
        try fillWorkspace(
            workspace, encoder: FeatureEncoder(spec: checkpoint.header.features), requestSizes: [9, 4], seed: 2)
        funnel_force_scalar(1)
        defer { funnel_force_scalar(0) }
        network.run(workspace)
        #expect(maxRelativeError(network, workspace) <= 1e-5)
    }

    @Test func candidatesOfOneRequestDoNotDependOnTheirBatch() throws {
        // A request scored alone and the same request batched after another give identical rows.
        let checkpoint = try TestModels.checkpoint(network: TestModels.networks[3])
        let network = InferenceNetwork(checkpoint: checkpoint)
        let encoder = FeatureEncoder(spec: checkpoint.header.features)
        let alone = network.makeWorkspace(maxRows: 8, maxRequests: 1)
        try fillWorkspace(alone, encoder: encoder, requestSizes: [8], seed: 11)
        network.run(alone)
        let batched = network.makeWorkspace(maxRows: 32, maxRequests: 3)
        try fillWorkspace(batched, encoder: encoder, requestSizes: [8], seed: 11)
        let slots = batched.appendRequest(candidates: 5)!
        slots.itemWeights.update(repeating: 0.5, count: 5 * slots.itemSlotCount)
        network.run(batched)
        for row in 0..<8 { #expect(alone.prediction(row: row) == batched.prediction(row: row)) }
    }

    @Test func workspaceRefusesRequestsThatDoNotFit() throws {
        let network = InferenceNetwork(checkpoint: try TestModels.checkpoint(network: TestModels.networks[0]))
        let workspace = network.makeWorkspace(maxRows: 10, maxRequests: 2)
        #expect(workspace.appendRequest(candidates: 11) == nil)
        #expect(workspace.appendRequest(candidates: 0) == nil)
        #expect(workspace.appendRequest(candidates: 6) != nil)
        #expect(workspace.appendRequest(candidates: 5) == nil)
        #expect(workspace.appendRequest(candidates: 4) != nil)
        #expect(workspace.appendRequest(candidates: 1) == nil)  // request limit
        workspace.reset()
        #expect(workspace.rowCount == 0 && workspace.appendRequest(candidates: 10) != nil)
    }

    /// The wide part adds to each task's logit exactly Σ weightₛ · wide_field[indexₛ][task] over the table fields:
    /// the same network with its wide tables zeroed differs by that sum, computed here from the encoded slots.
    @Test func theWidePartAddsEachIdsWeightToTheLogits() throws {
        let wideNetwork = TestModels.networks.first(where: \.wide)!
        #expect(wideNetwork.wide)
        let writer = TestModels.writer(network: wideNetwork)
        let zeroed = CheckpointWriter(
            header: writer.header,
            tensors: writer.tensors.map { tensor in
                tensor.name.hasPrefix("wide.")
                    ? CheckpointWriter.Tensor(
                        name: tensor.name, shape: tensor.shape,
                        values: [Float](repeating: 0, count: tensor.values.count))
                    : tensor
            })
        let checkpoint = try Checkpoint(bytes: try writer.encoded())
        let with = InferenceNetwork(checkpoint: checkpoint)
        let without = InferenceNetwork(checkpoint: try Checkpoint(bytes: try zeroed.encoded()))
        let encoder = FeatureEncoder(spec: checkpoint.header.features)
        let layout = encoder.layout
        var random = SplitMix64(seed: 4)
        var sharedIndices = [Int32](repeating: 0, count: layout.shared.slotCount)
        var sharedWeights = [Float](repeating: 0, count: layout.shared.slotCount)
        try encoder.encode(
            TestModels.randomValues(.shared, features: encoder.spec, random: &random), block: .shared,
            indices: &sharedIndices, weights: &sharedWeights)
        var itemIndices = [Int32](repeating: 0, count: 8 * layout.item.slotCount)
        var itemWeights = [Float](repeating: 0, count: 8 * layout.item.slotCount)
        for row in 0..<8 {
            try itemIndices.withUnsafeMutableBufferPointer { indices in
                try itemWeights.withUnsafeMutableBufferPointer { weights in
                    try encoder.encode(
                        TestModels.randomValues(.item, features: encoder.spec, random: &random), block: .item,
                        indices: indices.baseAddress! + row * layout.item.slotCount,
                        weights: weights.baseAddress! + row * layout.item.slotCount)
                }
            }
        }
        // Small continuous inputs, so that no probability saturates and the logits can be read back.
        for index in layout.item.fields where layout.spec.fields[index].tableRows == nil {
            for row in 0..<8 { itemWeights[row * layout.item.slotCount + layout.placements[index].slotOffset] = 0.1 }
        }
        let (a, b) = (with.makeWorkspace(maxRows: 8, maxRequests: 1), without.makeWorkspace(maxRows: 8, maxRequests: 1))
        for workspace in [a, b] {
            let slots = workspace.appendRequest(candidates: 8)!
            slots.sharedIndices.update(from: sharedIndices, count: sharedIndices.count)
            slots.sharedWeights.update(from: sharedWeights, count: sharedWeights.count)
            slots.itemIndices.update(from: itemIndices, count: itemIndices.count)
            slots.itemWeights.update(from: itemWeights, count: itemWeights.count)
        }
        with.run(a)
        without.run(b)
        func logit(_ p: Float) -> Double { log(Double(p) / (1 - Double(p))) }
        /// Σ weightₛ · wide[indexₛ][task] over one block's table fields.
        func wideSum(
            _ kind: InputLayout.BlockKind, _ indices: ArraySlice<Int32>, _ weights: ArraySlice<Float>,
            _ task: PredictionTask
        ) -> Double {
            var total = 0.0
            for index in layout.block(kind).fields where layout.spec.fields[index].tableRows != nil {
                let field = layout.spec.fields[index]
                let table = checkpoint.values(NetworkShape.wide(field.name))
                let offset = layout.placements[index].slotOffset
                for slot in offset..<offset + field.slotCount where weights[weights.startIndex + slot] != 0 {
                    let row = Int(indices[indices.startIndex + slot])
                    total += Double(weights[weights.startIndex + slot]) * Double(table[row * 2 + task.rawValue])
                }
            }
            return total
        }
        for row in 0..<8 {
            let items = row * layout.item.slotCount..<(row + 1) * layout.item.slotCount
            for task in PredictionTask.allCases {
                let expected =
                    wideSum(.shared, sharedIndices[...], sharedWeights[...], task)
                    + wideSum(.item, itemIndices[items], itemWeights[items], task)
                let (p, q) =
                    task == .ctr
                    ? (a.prediction(row: row).ctr, b.prediction(row: row).ctr)
                    : (a.prediction(row: row).cvr, b.prediction(row: row).cvr)
                #expect(abs(logit(p) - logit(q) - expected) < 1e-3, "row \(row), \(task.name): \(p) \(q) \(expected)")
                #expect(abs(expected) > 1e-3)  // the check compares real sums
            }
        }
    }
}
