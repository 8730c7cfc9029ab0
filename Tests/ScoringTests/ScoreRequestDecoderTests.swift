import Foundation
import Ranking
import Testing

@testable import Scoring

struct ScoreRequestDecoderTests {
    let model: ServableModel
    let decoder = ScoreRequestDecoder(maxCandidates: 50, ignoreUnknownFeatures: false)

    init() throws { model = try TestModel.servable() }

    func decodeError(_ text: String) -> ScoringError? {
        do {
            _ = try decoder.decode(Array(text.utf8), model: model)
            return nil
        } catch {
            return error
        }
    }

    @Test func encodesWithTheTrainersEncoder() throws {
        let request = try decoder.decode(
            TestModel.body(candidates: 3, extra: #", "top_k": 2, "deadline_ms": 50"#), model: model)
        #expect(request.candidateIDs == ["item-0", "item-1", "item-2"])
        #expect(request.topK == 2 && request.deadlineMilliseconds == 50)
        #expect(request.prices == [10, 11, 12])
        // The same values through FeatureEncoder directly give the same slots.
        let encoder = model.encoder
        var indices = [Int32](repeating: 0, count: encoder.layout.shared.slotCount)
        var weights = [Float](repeating: 0, count: encoder.layout.shared.slotCount)
        try encoder.encode(
            [
                "user_id": .string("u1"), "user_recent_categories": .list([.string("c1"), .string("c2")]),
                "user_age": .int(31), "device": .string("ios"),
            ],
            block: .shared, indices: &indices, weights: &weights)
        #expect(request.sharedIndices == indices && request.sharedWeights == weights)
        let slots = encoder.layout.item.slotCount
        var item = [Int32](repeating: 0, count: slots)
        var itemWeights = [Float](repeating: 0, count: slots)
        try encoder.encode(
            ["item_id": .int(1002), "item_category": .string("c2"), "price": .int(12)], block: .item, indices: &item,
            weights: &itemWeights)
        #expect(Array(request.itemIndices[2 * slots..<3 * slots]) == item)
        #expect(Array(request.itemWeights[2 * slots..<3 * slots]) == itemWeights)
    }

    static let badRequests: [(String, String)] = [
        (#"[]"#, "invalid_request"),
        (#"{"candidates": []}"#, "invalid_request"),
        (#"{"user": {}, "candidate": []}"#, "invalid_request"),
        (#"{"candidates": [{"id": "a", "features": {"price": 1}}], "top_k": 0}"#, "invalid_request"),
        (#"{"candidates": [{"id": "a", "features": {"price": 1}}], "top_k": 1.5}"#, "invalid_request"),
        (#"{"candidates": [{"features": {"price": 1}}]}"#, "invalid_request"),
        (#"{"candidates": [{"id": "a", "features": {"price": 1}, "extra": 1}]}"#, "invalid_request"),
        (#"{"candidates": [{"id": "a", "features": {"price": "cheap"}}]}"#, "invalid_feature"),
        (#"{"candidates": [{"id": "a", "features": {}}]}"#, "invalid_feature"),
        (#"{"candidates": [{"id": "a", "features": {"price": 1, "colour": "red"}}]}"#, "invalid_feature"),
        (#"{"user": {"device": "ios"}, "candidates": [{"id": "a", "features": {"price": 1}}]}"#, "invalid_request"),
        (#"{"user": {"user_id": true}, "candidates": [{"id": "a", "features": {"price": 1}}]}"#, "invalid_request"),
        (#"{"user": {"user_id": 1.5}, "candidates": [{"id": "a", "features": {"price": 1}}]}"#, "invalid_feature"),
        (#"{"candidates": [{"id": "a", "features": {"price": 1}}], "candidates": []}"#, "invalid_json"),
        (#"{"candidates": [{"id": "a", "features": {"price": NaN}}]}"#, "invalid_json"),
        (#"{"candidates": [{"id": "a", "features": {"price": 1e999}}]}"#, "invalid_json"),
        // The candidates are read after the document is checked: a syntax error anywhere wins over a semantic one.
        (#"{"bogus": 1, "candidates": [{"id": "a", "features": {"price": 1}},]}"#, "invalid_json"),
        (#"{"bogus": 1, "bogus": 2, "candidates": [{"id": "a", "features": {"price": 1}}]}"#, "invalid_json"),
        (#"{"candidates": [{"id": "a", "features": {"price": 1, "price": 2}}]}"#, "invalid_json"),
        (#"{"candidates": [{"id": "a", "features": {"price": 1, "pric\u0065": 2}}]}"#, "invalid_json"),
        (#"{"candidates": [{"id": "a", "i\u0064": "b", "features": {"price": 1}}]}"#, "invalid_json"),
        (#"{"candidates": [{"id": "a", "features": {"price": 1}}], "user": {"user_id": "u\x"}}"#, "invalid_json"),
        (#"{"candidates": [1]}"#, "invalid_request"),
        (#"{"candidates": {}}"#, "invalid_request"),
        (#"{"bogus": 1, "candidates": [{"id": "a", "features": {"price": 1}}]}"#, "invalid_request"),
    ]

    @Test(arguments: badRequests)
    func rejectsBadRequestsWith400(body: String, code: String) {
        let error = decodeError(body)
        #expect(error?.status == 400 && error?.code == code, "\(body): \(String(describing: error))")
    }

    @Test func errorsNameTheCandidateAndField() {
        let error = decodeError(
            #"{"candidates": [{"id": "a", "features": {"price": 1}}, {"id": "b", "features": {"price": "x"}}]}"#)
        #expect(error?.message == "candidate 1: feature 'price' must be a number")
    }

    @Test func tooManyCandidatesIs413() {
        #expect(decodeError(String(decoding: TestModel.body(candidates: 51), as: UTF8.self))?.status == 413)
    }

    /// An unknown feature is skipped, not encoded: the rows equal those of the same request without it.
    @Test func unknownFeaturesCanBeIgnored() throws {
        let lenient = ScoreRequestDecoder(maxCandidates: 50, ignoreUnknownFeatures: true)
        let request = try lenient.decode(
            Array(#"{"candidates": [{"id": "a", "features": {"price": 1, "colour": "red"}}]}"#.utf8), model: model)
        let without = try lenient.decode(
            Array(#"{"candidates": [{"id": "a", "features": {"price": 1}}]}"#.utf8), model: model)
        #expect(request.candidateIDs == ["a"] && request.prices == [1])
        #expect(request.itemIndices == without.itemIndices && request.itemWeights == without.itemWeights)
        #expect(request.sharedIndices == without.sharedIndices && request.sharedWeights == without.sharedWeights)
        #expect(decodeError(#"{"candidates": [{"id": "a", "features": {"colour": "red"}}]}"#)?.status == 400)
    }
}

/// An item cross reads the request's user value: each candidate's row is the one the trainer's encoder gives for the
/// user's and that candidate's values together.
struct CrossRequestTests {
    @Test func itemCrossesCombineTheUserWithEachCandidate() throws {
        let features = FeatureSpec(
            hashSeed: 3,
            fields: [
                FieldSpec(name: "user_segment", group: .user, kind: .categorical(buckets: 16), dimension: 2),
                FieldSpec(name: "item_category", group: .item, kind: .categorical(buckets: 32), dimension: 2),
                FieldSpec(
                    name: "user_segment_x_item_category", group: .item,
                    kind: .cross(of: ["user_segment", "item_category"], buckets: 4001), dimension: 4),
            ])
        let network = NetworkSpec.sharedBottom(layers: [8], towerLayers: [])
        let header = CheckpointHeader(
            model: ModelIdentity(name: "cross", version: 1), features: features, network: network,
            score: ScoreFormula(), training: TrainingMetadata(producer: "ScoringTests"))
        let shape = NetworkShape(features: features, network: network)
        let tensors = RandomInitializer.tensors(for: shape, seed: 1)
        let bytes = try CheckpointWriter(header: header, tensors: tensors).encoded()
        let model = ServableModel(
            name: "cross", version: 1, path: "", checkpoint: try Checkpoint(bytes: bytes), scoreOverride: nil)
        let body =
            #"{"user": {"user_segment": 4}, "candidates": [{"id": "a", "features": {"item_category": "c3"}}, "#
            + #"{"id": "b", "features": {"item_category": "c4"}}, {"id": "c", "features": {}}]}"#
        let request = try ScoreRequestDecoder(maxCandidates: 10, ignoreUnknownFeatures: false)
            .decode(Array(body.utf8), model: model)
        let slots = model.encoder.layout.item.slotCount
        #expect(slots == 2)
        var crossRows: [Int32] = []
        for (position, category) in [FeatureValue.string("c3"), .string("c4"), .missing].enumerated() {
            var indices = [Int32](repeating: 0, count: slots)
            var weights = [Float](repeating: 0, count: slots)
            try model.encoder.encode(
                category == .missing ? [:] : ["item_category": category], block: .item,
                shared: ["user_segment": .int(4)], indices: &indices, weights: &weights)
            #expect(Array(request.itemIndices[position * slots..<(position + 1) * slots]) == indices)
            #expect(Array(request.itemWeights[position * slots..<(position + 1) * slots]) == weights)
            crossRows.append(indices[1])
        }
        #expect(crossRows[0] != crossRows[1] && crossRows[0] > 0 && crossRows[2] == 0)
        // The user may come after the candidates: they are read once the whole body has been seen.
        let reordered =
            #"{"candidates": [{"id": "a", "features": {"item_category": "c3"}}, "#
            + #"{"id": "b", "features": {"item_category": "c4"}}, {"id": "c", "features": {}}], "#
            + #""user": {"user_segment": 4}}"#
        let later = try ScoreRequestDecoder(maxCandidates: 10, ignoreUnknownFeatures: false)
            .decode(Array(reordered.utf8), model: model)
        #expect(later.itemIndices == request.itemIndices && later.itemWeights == request.itemWeights)
        #expect(later.sharedIndices == request.sharedIndices && later.candidateIDs == request.candidateIDs)
    }
}

/// `GET /v1/models` lists a vocabulary's size, not its ids.
struct ListedFieldTests {
    @Test func vocabulariesAreListedBySize() throws {
        let field = FieldSpec(
            name: "user_id", group: .user, kind: .categorical(buckets: 5), dimension: 4,
            vocabulary: .ids(["a", "b", "c"]))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(ListedField(field: field)), as: UTF8.self)
        #expect(json.contains(#""vocabulary_size":3"#) && json.contains(#""buckets":5"#) && !json.contains(#""a""#))
        let hashed = String(
            decoding: try encoder.encode(
                ListedField(
                    field: FieldSpec(
                        name: "item", group: .item, kind: .categorical(buckets: 9), dimension: 2))), as: UTF8.self)
        #expect(!hashed.contains("vocabulary"))
    }
}
