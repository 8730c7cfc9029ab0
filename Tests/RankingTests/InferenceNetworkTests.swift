import CFunnelKernels
import Ranking
import Testing

/// The fast network against the reference (the specification), on every architecture.
struct InferenceNetworkTests {
    static let architectures = Array(TestModels.networks.indices)

    /// Max over rows and outputs of |fast − reference| / max(|reference|, 1e-3).
    func maxRelativeError(_ network: InferenceNetwork, _ workspace: InferenceWorkspace) -> Float {
        let reference = ReferenceNetwork(checkpoint: network.checkpoint)
        var worst: Float = 0
        for row in 0..<workspace.rowCount {
            let want = reference.predict(input: workspace.inputRow(row))
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

    @Test func scalarFallbackMatchesReference() throws {
        let checkpoint = try TestModels.checkpoint(network: TestModels.networks[2])
        let network = InferenceNetwork(checkpoint: checkpoint)
        let workspace = network.makeWorkspace(maxRows: 16, maxRequests: 2)
        try fillWorkspace(workspace, encoder: FeatureEncoder(spec: checkpoint.header.features), requestSizes: [9, 4], seed: 2)
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
}
