import Foundation
import Ranking
import Testing

/// A committed tiny checkpoint and the scores it must produce: any drift in the file format, the
/// initializer, the hash, the encoder or the kernels fails here. Regenerate deliberately with
/// `FUNNEL_REGENERATE_FIXTURES=1 swift test --filter GoldenFixtureTests` and say why in the commit.
struct GoldenFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures")
    static let checkpointURL = directory.appendingPathComponent("golden-v1.fckpt")
    static let expectedURL = directory.appendingPathComponent("golden-v1.expected.json")
    static let network = NetworkSpec.ple(
        levels: 2, sharedExperts: 1, specificExperts: 1, expertLayers: [12, 8], towerLayers: [5])

    /// Two requests written out literally, covering ids as strings and numbers, bags, a missing field and a
    /// bucketized value on a boundary.
    static let requests: [(shared: [String: FeatureValue], items: [[String: FeatureValue]])] = [
        (
            [
                "user_id": .string("u-42"), "user_tags": .list([.string("shoes"), .int(7)]), "user_age": .int(30),
                "hour": .int(21),
            ],
            [
                [
                    "item_id": .int(1001), "item_tags": .list([.string("sale")]), "price": .double(19.99),
                    "item_ctr": .double(0.07),
                ],
                ["item_id": .string("1002"), "price": .int(250)],
                [
                    "item_id": .int(1003), "item_tags": .weighted([WeightedID(id: .int(3), weight: 2.5)]),
                    "price": .double(0),
                ],
            ]
        ),
        (
            ["user_id": .int(7), "hour": .int(3)],
            [["item_id": .int(1001), "price": .double(5), "item_ctr": .double(0.01)]]
        ),
    ]

    func predictions(_ checkpoint: Checkpoint) throws -> [[Float]] {
        let network = InferenceNetwork(checkpoint: checkpoint)
        let encoder = FeatureEncoder(spec: checkpoint.header.features)
        let workspace = network.makeWorkspace(maxRows: 8, maxRequests: 2)
        for request in Self.requests {
            let slots = workspace.appendRequest(candidates: request.items.count)!
            try encoder.encode(
                request.shared, block: .shared, indices: slots.sharedIndices, weights: slots.sharedWeights)
            for (row, item) in request.items.enumerated() {
                try encoder.encode(
                    item, block: .item, indices: slots.itemIndices + row * slots.itemSlotCount,
                    weights: slots.itemWeights + row * slots.itemSlotCount)
            }
        }
        network.run(workspace)
        let reference = ReferenceNetwork(checkpoint: checkpoint)
        return (0..<workspace.rowCount).map { row in
            let fast = workspace.prediction(row: row)
            let slow = reference.predict(input: workspace.inputRow(row), wide: workspace.wideRow(row))
            #expect(abs(fast.ctr - slow.ctr) <= 1e-6 && abs(fast.cvr - slow.cvr) <= 1e-6)
            return [fast.ctr, fast.cvr]
        }
    }

    @Test func fixtureStillLoadsAndScoresTheSame() throws {
        let bytes = try TestModels.writer(network: Self.network, seed: 2026).encoded()
        if ProcessInfo.processInfo.environment["FUNNEL_REGENERATE_FIXTURES"] == "1" {
            try Data(bytes).write(to: Self.checkpointURL)
            let scores = try predictions(try Checkpoint(bytes: bytes))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted]
            try encoder.encode(["predictions": scores]).write(to: Self.expectedURL)
        }
        let committed = try Data(contentsOf: Self.checkpointURL)
        #expect([UInt8](committed) == bytes, "the writer no longer produces the committed file")
        let checkpoint = try Checkpoint(contentsOfFile: Self.checkpointURL.path)
        let expected = try JSONDecoder().decode([String: [[Float]]].self, from: Data(contentsOf: Self.expectedURL))
        let scores = try predictions(checkpoint)
        #expect(scores.count == expected["predictions"]!.count)
        for (got, want) in zip(scores, expected["predictions"]!) {
            #expect(abs(got[0] - want[0]) <= 1e-6 && abs(got[1] - want[1]) <= 1e-6, "\(got) vs \(want)")
        }
    }
}
