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
            ["user_id": .string("u1"), "user_tags": .list([.string("a"), .int(5)]), "user_age": .int(30),
             "hour": .double(13)], .shared)
        #expect(shared[0] == (bucket("u1", 101), 1))
        #expect(shared[1] == (bucket("a", 37), 0.5))  // mean pooling: weights 1/2 each
        #expect(shared[2] == (bucket("5", 37), 0.5))
        #expect(shared[3] == (0, 0))  // unused bag slot
        #expect(shared[4] == (3, 1))  // 30: boundaries 18 and 30 are ≤ x → bucket 1 + 2
        #expect(shared[5] == (bucket("13", 24), 1))  // integral doubles hash like integers

        let item = try encode(
            ["item_id": .int(77), "item_tags": .weighted([WeightedID(id: .string("x"), weight: 3)]),
             "price": .double(9), "item_ctr": .double(0.09)], .item)
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
        #expect(throws: FeatureEncodingError(field: "user_id", reason: .wrongType(expected: "an integer or string id"))) {
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
        let shared = try encode(["user_tags": .list([.string("a"), .string("b"), .string("c"), .string("d")])], .shared)
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
        let spec = FeatureSpec(fields: [FieldSpec(name: "item", group: .item, kind: .categorical(buckets: 10), dimension: 2), field])
        try spec.validate()
        let encoder = FeatureEncoder(spec: spec)
        func weight(_ x: Double) throws -> Float {
            var indices = [Int32](repeating: 0, count: 2), weights = [Float](repeating: 0, count: 2)
            try encoder.encode(["item": .int(1), "score": .double(x)], block: .item, indices: &indices, weights: &weights)
            return weights[1]
        }
        #expect(try weight(87) == 1 && weight(-3) == 0 && weight(0.25) == 0.25)
        let decoded = try JSONDecoder().decode(FieldSpec.self, from: JSONEncoder().encode(field))
        #expect(decoded == field && decoded.clip == 0...1)
        var categorical = spec.fields[0]
        categorical.clip = 0...1
        #expect(throws: SpecError.self) { try FeatureSpec(fields: [categorical]).validate() }
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(FieldSpec.self, from: Data(#"{"name": "x", "group": "item", "kind": "numeric", "clip": [2, 1]}"#.utf8))
        }
    }
}
