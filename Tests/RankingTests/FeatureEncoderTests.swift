import Foundation
import Ranking
import Testing

struct FeatureEncoderTests {
    let encoder = FeatureEncoder(spec: TestModels.features)

    /// Encodes one block and returns its (index, weight) slots.
    func encode(_ values: [String: FeatureValue], _ block: InputLayout.BlockKind) throws -> [(Int32, Float)] {
        let count = encoder.layout.block(block).slotCount
        var indices = [Int32](repeating: -1, count: count)
        var weights = [Float](repeating: -1, count: count)
        try encoder.encode(values, block: block, indices: &indices, weights: &weights)
        return Array(zip(indices, weights))
    }

    func bucket(_ id: String, _ buckets: Int) -> Int32 {
        FeatureHash.bucket(of: Array(id.utf8), seed: 99, buckets: buckets)
    }

    @Test func blocksFollowGroupsAndSpecOrder() {
        let layout = encoder.layout
        #expect(layout.shared.fields == [0, 1, 2, 3])
        #expect(layout.item.fields == [4, 5, 6, 7])
        #expect(layout.shared.slotCount == 1 + 3 + 1 + 1)
        #expect(layout.shared.width == 5 + 3 + 2 + 3)
        #expect(layout.item.width == 7 + 4 + 1 + 1)
        #expect(layout.servingWidth == 26)
    }

    @Test func encodesEveryKind() throws {
        let shared = try encode(
            [
                "user_id": .string("u1"), "user_tags": .list([.string("a"), .int(5)]), "user_age": .int(30),
                "hour": .double(13),
            ], .shared)
        #expect(shared[0] == (bucket("u1", 101), 1))
        #expect(shared[1] == (bucket("a", 37), 0.5))  // mean pooling: weights 1/2 each
        #expect(shared[2] == (bucket("5", 37), 0.5))
        #expect(shared[3] == (0, 0))  // unused bag slot
        #expect(shared[4] == (3, 1))  // 30: boundaries 18 and 30 are ≤ x → bucket 1 + 2
        #expect(shared[5] == (bucket("13", 24), 1))  // integral doubles hash like integers

        let item = try encode(
            [
                "item_id": .int(77), "item_tags": .weighted([WeightedID(id: .string("x"), weight: 3)]),
                "price": .double(9), "item_ctr": .double(0.09),
            ], .item)
        #expect(item[0] == (bucket("77", 211), 1))
        #expect(item[1] == (bucket("x", 19), 3))  // sum pooling keeps weights
        #expect(item[2] == (0, 0))
        #expect(item[3].0 == 0 && abs(item[3].1 - Float(log1p(9.0))) < 1e-6)
        #expect(item[4].0 == 0 && abs(item[4].1 - 2) < 1e-5)  // (0.09 − 0.05) / 0.02
    }

    @Test func missingValuesFollowTheirRule() throws {
        let shared = try encode([:], .shared)
        #expect(shared[0] == (0, 1))  // default: the learned missing row
        #expect(shared[1] == (0, 0) && shared[2] == (0, 0))  // zero
        #expect(shared[4] == (0, 1))  // bucketized: missing row
        let item = try encode(["price": .int(1), "item_tags": .list([])], .item)
        #expect(item[1] == (0, 1))  // an empty bag is missing → default row
        #expect(item[4].1 == 0)  // default_value 0.05 standardizes to 0
        #expect(throws: FeatureEncodingError(field: "price", reason: .missingRequired)) {
            try encode(["item_id": .int(1)], .item)
        }
    }

    @Test func unusableValuesAreRejectedOrTreatedAsMissing() throws {
        #expect(throws: FeatureEncodingError(field: "user_id", reason: .wrongType(expected: "an integer or string id")))
        {
            try encode(["user_id": .double(1.5)], .shared)
        }
        #expect(throws: FeatureEncodingError(field: "price", reason: .nonFinite)) {
            try encode(["price": .double(.nan)], .item)
        }
        #expect(throws: FeatureEncodingError(field: "price", reason: .wrongType(expected: "a number"))) {
            try encode(["price": .string("cheap")], .item)
        }
        // item_ctr says unknown → missing: a string becomes its default.
        let item = try encode(["price": .int(1), "item_ctr": .string("n/a")], .item)
        #expect(item[4].1 == 0)
    }

    @Test func unknownFieldsAreRejectedUnlessIgnored() throws {
        #expect(throws: FeatureEncodingError(field: "colour", reason: .unknownField)) {
            try encode(["price": .int(1), "colour": .string("red")], .item)
        }
        // A field of another block is unknown here too.
        #expect(throws: FeatureEncodingError(field: "user_id", reason: .unknownField)) {
            try encode(["price": .int(1), "user_id": .int(1)], .item)
        }
        var indices = [Int32](repeating: 0, count: encoder.layout.item.slotCount)
        var weights = [Float](repeating: 0, count: encoder.layout.item.slotCount)
        try encoder.encode(
            ["price": .int(1), "colour": .string("red")], block: .item, indices: &indices, weights: &weights,
            ignoringUnknownFields: true)
    }

    @Test func bagsKeepTheirFirstValuesUpToTheLimit() throws {
        let shared = try encode(
            ["user_tags": .list([.string("a"), .string("b"), .string("c"), .string("d")])], .shared)
        #expect(shared[1].0 == bucket("a", 37) && shared[3].0 == bucket("c", 37))
        #expect(shared[1].1 == Float(1.0 / 3))  // the mean over the three kept
    }

    @Test func specsRoundTripThroughJSON() throws {
        let spec = ModelSpec(features: TestModels.features, network: TestModels.networks[2])
        let encoded = try JSONEncoder().encode(spec)
        #expect(try JSONDecoder().decode(ModelSpec.self, from: encoded) == spec)
        for network in TestModels.networks {
            #expect(try JSONDecoder().decode(NetworkSpec.self, from: try JSONEncoder().encode(network)) == network)
        }
    }

    @Test func invalidSpecsAreRejected() {
        let duplicate = FeatureSpec(fields: [TestModels.features.fields[0], TestModels.features.fields[0]])
        #expect(throws: SpecError("duplicate feature field 'user_id'")) { try duplicate.validate() }
        let badBoundaries = FeatureSpec(fields: [
            FieldSpec(name: "x", group: .item, kind: .numeric(.bucketize(boundaries: [3, 1])), dimension: 2)
        ])
        #expect(throws: SpecError.self) { try badBoundaries.validate() }
        let wideNumeric = FeatureSpec(fields: [
            FieldSpec(name: "x", group: .item, kind: .numeric(.log1p), dimension: 4)
        ])
        #expect(throws: SpecError.self) { try wideNumeric.validate() }
    }

    /// A clipped continuous field clamps the raw value before its transform, and its range round-trips through JSON.
    @Test func continuousValuesAreClippedToTheirRange() throws {
        let field = FieldSpec(
            name: "score", group: .item, kind: .numeric(.identity), dimension: 1, defaultValue: 0.5, clip: 0...1)
        let spec = FeatureSpec(fields: [
            FieldSpec(name: "item", group: .item, kind: .categorical(buckets: 10), dimension: 2), field,
        ])
        try spec.validate()
        let encoder = FeatureEncoder(spec: spec)
        func weight(_ x: Double) throws -> Float {
            var indices = [Int32](repeating: 0, count: 2), weights = [Float](repeating: 0, count: 2)
            try encoder.encode(
                ["item": .int(1), "score": .double(x)], block: .item, indices: &indices, weights: &weights)
            return weights[1]
        }
        #expect(try weight(87) == 1 && weight(-3) == 0 && weight(0.25) == 0.25)
        let decoded = try JSONDecoder().decode(FieldSpec.self, from: JSONEncoder().encode(field))
        #expect(decoded == field && decoded.clip == 0...1)
        var categorical = spec.fields[0]
        categorical.clip = 0...1
        #expect(throws: SpecError.self) { try FeatureSpec(fields: [categorical]).validate() }
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(
                FieldSpec.self, from: Data(#"{"name": "x", "group": "item", "kind": "numeric", "clip": [2, 1]}"#.utf8))
        }
    }
}

/// Cross fields: one row per combination of their components' ids, encoded beside them by the one encoder.
struct CrossFeatureTests {
    let spec = FeatureSpec(
        hashSeed: 7,
        fields: [
            FieldSpec(name: "segment", group: .user, kind: .categorical(buckets: 16), dimension: 2),
            FieldSpec(name: "hour", group: .context, kind: .categorical(buckets: 24), dimension: 2),
            FieldSpec(name: "category", group: .item, kind: .categorical(buckets: 64), dimension: 2),
            FieldSpec(
                name: "segment_x_category", group: .item, kind: .cross(of: ["segment", "category"], buckets: 1001),
                dimension: 4),
            FieldSpec(
                name: "segment_x_hour", group: .context, kind: .cross(of: ["segment", "hour"], buckets: 101),
                dimension: 2),
        ])

    func item(_ values: [String: FeatureValue], shared: [String: FeatureValue]) throws -> [(Int32, Float)] {
        let encoder = FeatureEncoder(spec: spec)
        var indices = [Int32](repeating: -1, count: encoder.layout.item.slotCount)
        var weights = [Float](repeating: -1, count: encoder.layout.item.slotCount)
        try encoder.encode(values, block: .item, shared: shared, indices: &indices, weights: &weights)
        return Array(zip(indices, weights))
    }

    @Test func aCrossRowIsTheHashOfItsComponentsIds() throws {
        let row = try item(["category": .string("c3")], shared: ["segment": .int(4)])
        // XXH64 of the two ids' XXH64s, little-endian, seeded like every id.
        let keys = [FeatureHash.xxh64(Array("4".utf8), seed: 7), FeatureHash.xxh64(Array("c3".utf8), seed: 7)]
        let bytes = keys.flatMap { key in (0..<8).map { UInt8(truncatingIfNeeded: key >> (8 * $0)) } }
        #expect(row[1] == (Int32(1 + FeatureHash.xxh64(bytes, seed: 7) % 1000), 1))
        // An integer id and its decimal string are one id, in a cross too.
        #expect(try item(["category": .string("c3")], shared: ["segment": .string("4")])[1] == row[1])
        // Another combination lands elsewhere (these two differ for this seed).
        #expect(try item(["category": .string("c3")], shared: ["segment": .int(5)])[1] != row[1])
        #expect(try item(["category": .string("c4")], shared: ["segment": .int(4)])[1] != row[1])
    }

    @Test func aMissingComponentGivesTheMissingRow() throws {
        #expect(try item(["category": .string("c3")], shared: [:])[1] == (0, 1))
        #expect(try item([:], shared: ["segment": .int(4)])[1] == (0, 1))
        // An unusable component value is the component's error; the cross alone never throws.
        let wrongType = FeatureEncodingError(field: "category", reason: .wrongType(expected: "an integer or string id"))
        #expect(throws: wrongType) {
            try item(["category": .double(0.5)], shared: ["segment": .int(4)])
        }
    }

    @Test func clientsCannotSendACross() {
        #expect(throws: FeatureEncodingError(field: "segment_x_category", reason: .unknownField)) {
            try item(["category": .string("c3"), "segment_x_category": .int(1)], shared: ["segment": .int(4)])
        }
    }

    @Test func sharedCrossesAreEncodedOncePerRequest() throws {
        let encoder = FeatureEncoder(spec: spec)
        #expect(encoder.layout.shared.fields == [0, 1, 4])
        #expect(encoder.layout.item.fields == [2, 3])
        var indices = [Int32](repeating: -1, count: encoder.layout.shared.slotCount)
        var weights = [Float](repeating: -1, count: encoder.layout.shared.slotCount)
        try encoder.encode(["segment": .int(4), "hour": .int(9)], block: .shared, indices: &indices, weights: &weights)
        #expect(indices[2] > 0 && weights[2] == 1)
    }

    @Test func crossSpecsRoundTripAndAreChecked() throws {
        #expect(try JSONDecoder().decode(FeatureSpec.self, from: JSONEncoder().encode(spec)) == spec)
        try spec.validate()
        func invalid(_ field: FieldSpec) -> FeatureSpec { FeatureSpec(fields: spec.fields.dropLast(2) + [field]) }
        func cross(_ components: [String], _ group: FeatureGroup) -> FeatureSpec {
            invalid(FieldSpec(name: "x", group: group, kind: .cross(of: components, buckets: 9), dimension: 2))
        }
        #expect(throws: SpecError("cross 'x': 'price' is not a categorical field")) {
            try cross(["segment", "price"], .item).validate()
        }
        #expect(throws: SpecError("cross 'x': group must be item for its components")) {
            try cross(["segment", "category"], .user).validate()
        }
        #expect(throws: SpecError("field 'x': a cross combines two or more distinct fields")) {
            try cross(["segment"], .user).validate()
        }
    }
}

/// Vocabulary fields: one row per known id, row 1 for the others, row 0 when missing; nothing hashed into buckets.
struct VocabularyTests {
    let spec = FeatureSpec(
        hashSeed: 9,
        fields: [
            FieldSpec(
                name: "user", group: .user, kind: .categorical(buckets: 5), dimension: 2,
                vocabulary: .ids(["u7", "42", "u1"])),
            FieldSpec(
                name: "tags", group: .user, kind: .multiCategorical(buckets: 4, pooling: .sum, maxValues: 3),
                dimension: 2,
                vocabulary: .ids(["a", "b"])),
            FieldSpec(name: "item", group: .item, kind: .categorical(buckets: 8), dimension: 2),
        ])

    func shared(_ values: [String: FeatureValue]) throws -> [Int32] {
        let encoder = FeatureEncoder(spec: spec)
        var indices = [Int32](repeating: -1, count: encoder.layout.shared.slotCount)
        var weights = [Float](repeating: -1, count: encoder.layout.shared.slotCount)
        try encoder.encode(values, block: .shared, indices: &indices, weights: &weights)
        return indices
    }

    @Test func knownIdsGetTheirRowsAndOthersTheOutOfVocabularyRow() throws {
        #expect(try shared(["user": .string("u7")])[0] == 2)
        #expect(try shared(["user": .int(42)])[0] == 3)  // an integer id is its decimal string
        #expect(try shared(["user": .string("u1")])[0] == 4)
        #expect(try shared(["user": .string("u2")])[0] == Vocabulary.outOfVocabularyRow)
        #expect(try shared([:])[0] == 0)
        #expect(try shared(["tags": .list([.string("b"), .string("zzz"), .string("a")])])[1...3] == [3, 1, 2])
    }

    @Test func vocabulariesRoundTripAndAreChecked() throws {
        try spec.validate()
        #expect(try JSONDecoder().decode(FeatureSpec.self, from: JSONEncoder().encode(spec)) == spec)
        // Without buckets a categorical field asks for a vocabulary; a built one sets its own buckets.
        let asked = try JSONDecoder().decode(
            FieldSpec.self, from: Data(#"{"name": "u", "group": "user", "kind": "categorical", "dimension": 4}"#.utf8))
        #expect(asked.vocabulary == .fromTrainingData(minCount: Vocabulary.defaultMinCount) && asked.vocabularyToBuild)
        let listed = #"{"name": "u", "group": "user", "kind": "categorical", "vocabulary": ["x", "y"], "dimension": 4}"#
        let built = try JSONDecoder().decode(FieldSpec.self, from: Data(listed.utf8))
        #expect(built.kind == .categorical(buckets: 4) && !built.vocabularyToBuild)
        func invalid(_ buckets: Int, _ ids: [String]) -> FeatureSpec {
            FeatureSpec(fields: [
                FieldSpec(
                    name: "u", group: .user, kind: .categorical(buckets: buckets), dimension: 1, vocabulary: .ids(ids))
            ])
        }
        #expect(throws: SpecError("field 'u': buckets must be the vocabulary's 2 ids + 2")) {
            try invalid(9, ["x", "y"]).validate()
        }
        #expect(throws: SpecError("field 'u': the vocabulary repeats an id")) { try invalid(4, ["x", "x"]).validate() }
        #expect(throws: SpecError("field 'p': only categorical fields have a vocabulary")) {
            try FeatureSpec(fields: [
                FieldSpec(name: "p", group: .item, kind: .numeric(.log1p), dimension: 1, vocabulary: .ids([]))
            ]).validate()
        }
        // A serving checkpoint cannot carry a vocabulary still to be built.
        var unbuilt = spec
        unbuilt.fields[0].vocabulary = .fromTrainingData(minCount: 2)
        unbuilt.fields[0].kind = .categorical(buckets: 2)
        let header = CheckpointHeader(
            model: ModelIdentity(name: "m", version: 1), features: unbuilt,
            network: .sharedBottom(layers: [4], towerLayers: []), score: ScoreFormula(),
            training: TrainingMetadata(producer: "test"))
        #expect(throws: SpecError("field 'user': its vocabulary was never built (funnel-train train builds it)")) {
            try header.validate()
        }
    }
}
