import Ranking

/// Small specs and helpers shared by the Ranking tests.
enum TestModels {
    /// A spec with every field kind, odd widths and all three blocks non-empty.
    static let features = FeatureSpec(
        hashSeed: 99,
        fields: [
            FieldSpec(name: "user_id", group: .user, kind: .categorical(buckets: 101), dimension: 5),
            FieldSpec(
                name: "user_tags", group: .user, kind: .multiCategorical(buckets: 37, pooling: .mean, maxValues: 3),
                dimension: 3, missing: .zero),
            FieldSpec(
                name: "user_age", group: .user, kind: .numeric(.bucketize(boundaries: [18, 30, 50])), dimension: 2),
            FieldSpec(name: "hour", group: .context, kind: .categorical(buckets: 24), dimension: 3),
            FieldSpec(name: "item_id", group: .item, kind: .categorical(buckets: 211), dimension: 7),
            FieldSpec(
                name: "item_tags", group: .item, kind: .multiCategorical(buckets: 19, pooling: .sum, maxValues: 2),
                dimension: 4),
            FieldSpec(name: "price", group: .item, kind: .numeric(.log1p), dimension: 1, missing: .reject),
            FieldSpec(
                name: "item_ctr", group: .item, kind: .numeric(.standardize(mean: 0.05, std: 0.02)), dimension: 1,
                unknown: .missing, defaultValue: 0.05),
        ])

    static let networks: [NetworkSpec] = [
        .sharedBottom(layers: [19, 11], towerLayers: [9]),
        .mmoe(experts: 3, expertLayers: [13], towerLayers: [5, 3]),
        .ple(levels: 1, sharedExperts: 2, specificExperts: 1, expertLayers: [17, 10], towerLayers: [6]),
        .ple(levels: 2, sharedExperts: 1, specificExperts: 2, expertLayers: [21, 9], towerLayers: []),
        {  // with the first-order part
            var network = NetworkSpec.ple(
                levels: 1, sharedExperts: 1, specificExperts: 1, expertLayers: [12], towerLayers: [4])
            network.wide = true
            return network
        }(),
        {  // with two cross layers
            var network = NetworkSpec.mmoe(experts: 2, expertLayers: [9], towerLayers: [4])
            network.crossLayers = 2
            return network
        }(),
    ]

    static func checkpoint(
        network: NetworkSpec, ctrNetwork: NetworkSpec? = nil, features: FeatureSpec = features, seed: UInt64 = 7
    ) throws -> Checkpoint {
        try Checkpoint(
            bytes: try writer(network: network, ctrNetwork: ctrNetwork, features: features, seed: seed).encoded())
    }

    /// Random weights for the student `network` and, given `ctrNetwork`, a separate CTR network beside it.
    static func writer(
        network: NetworkSpec, ctrNetwork: NetworkSpec? = nil, features: FeatureSpec = features, seed: UInt64 = 7
    ) -> CheckpointWriter {
        let header = CheckpointHeader(
            model: ModelIdentity(name: "test", version: 3), features: features, network: network,
            ctrNetwork: ctrNetwork,
            score: ScoreFormula(priceField: features.fields.contains { $0.name == "price" } ? "price" : nil),
            training: TrainingMetadata(producer: "RankingTests", seed: seed, metrics: ["ctr_auc": 0.5]))
        var tensors = RandomInitializer.tensors(for: NetworkShape(features: features, network: network), seed: seed)
        if let ctrNetwork {
            let shape = NetworkShape(
                features: features, network: ctrNetwork, tensorPrefix: NetworkShape.ctrNetworkPrefix)
            tensors += RandomInitializer.tensors(for: shape, seed: seed &+ 1)
        }
        return CheckpointWriter(header: header, tensors: tensors)
    }

    /// Random raw values for one block of `features`.
    static func randomValues(
        _ kind: InputLayout.BlockKind, features: FeatureSpec = features, random: inout SplitMix64
    ) -> [String: FeatureValue] {
        let layout = InputLayout(spec: features)
        var values: [String: FeatureValue] = [:]
        for index in layout.block(kind).fields {
            let field = features.fields[index]
            switch field.kind {
            case .categorical: values[field.name] = .int(Int64(random.next() % 1000))
            case .multiCategorical:
                values[field.name] = .weighted(
                    (0..<Int(random.next() % 4)).map { _ in
                        WeightedID(id: .string("t\(random.next() % 50)"), weight: random.uniform(0.5, 2))
                    })
            case .numeric: values[field.name] = .double(random.uniform(0, 80))
            case .cross: break  // computed from its components
            }
        }
        return values
    }
}

/// Fills `workspace` with requests of the given sizes, encoded from random raw values.
func fillWorkspace(
    _ workspace: InferenceWorkspace, encoder: FeatureEncoder, requestSizes: [Int], seed: UInt64
) throws {
    var random = SplitMix64(seed: seed)
    workspace.reset()
    for size in requestSizes {
        let slots = workspace.appendRequest(candidates: size)!
        try encoder.encode(
            TestModels.randomValues(.shared, features: encoder.spec, random: &random), block: .shared,
            indices: slots.sharedIndices, weights: slots.sharedWeights)
        for row in 0..<size {
            try encoder.encode(
                TestModels.randomValues(.item, features: encoder.spec, random: &random), block: .item,
                indices: slots.itemIndices + row * slots.itemSlotCount,
                weights: slots.itemWeights + row * slots.itemSlotCount)
        }
    }
}
