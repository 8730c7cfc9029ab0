import Foundation
import Ranking
import Testing

@testable import Training

/// `resolvingVocabularies` builds exact vocabularies from the training file, and vocabulary models export with parity.
struct VocabularyBuilderTests {
    static func schema(minCount: Int) -> TrainingSchema {
        TrainingSchema(
            features: FeatureSpec(
                hashSeed: 4,
                fields: [
                    FieldSpec(
                        name: "user", group: .user, kind: .categorical(buckets: 2), dimension: 2,
                        vocabulary: .fromTrainingData(minCount: minCount)),
                    FieldSpec(
                        name: "tags", group: .user, kind: .multiCategorical(buckets: 2, pooling: .mean, maxValues: 3),
                        dimension: 2, missing: .zero, vocabulary: .fromTrainingData(minCount: minCount)),
                    FieldSpec(name: "item", group: .item, kind: .categorical(buckets: 50), dimension: 2),
                    FieldSpec(name: "price", group: .item, kind: .numeric(.log1p), dimension: 1),
                ]),
            labels: LabelColumns(click: "click", conversion: "buy", requestID: "req"))
    }

    static func write(_ rows: [String]) throws -> String {
        let path = TestSupport.temporaryDirectory("vocabulary") + "/train.csv"
        try TestSupport.write((["req,user,tags,item,price,click,buy"] + rows).joined(separator: "\n"), to: path)
        return path
    }

    @Test func vocabulariesHoldTheIdsSeenOftenEnoughMostFrequentFirst() throws {
        let file = try Self.write([
            "r1,u2,a|b:3,i1,5,1,0", "r1,u1,b,i2,5,0,0", "r2,u2,,i1,5,0,0", "r2,u3,c:2|b,i3,5,1,1", "r3,u1,a,i1,5,0,0",
            "r3,u2,b,i1,5,0,0",
        ])
        let resolved = try Self.schema(minCount: 2).resolvingVocabularies(file: file)
        // user: u2 ×3, u1 ×2, u3 ×1 (below the minimum count); tags: b ×4, a ×2, c ×1 (weights are not ids).
        #expect(resolved.features.fields[0].vocabulary == .ids(["u2", "u1"]))
        #expect(resolved.features.fields[0].kind == .categorical(buckets: 4))
        #expect(resolved.features.fields[1].vocabulary == .ids(["b", "a"]))
        #expect(resolved.features.fields[1].kind == .multiCategorical(buckets: 4, pooling: .mean, maxValues: 3))
        #expect(resolved.features.fields[2] == Self.schema(minCount: 2).features.fields[2])  // hashed: unchanged
        let everything = try Self.schema(minCount: 1).resolvingVocabularies(file: file)
        #expect(everything.features.fields[0].vocabulary == .ids(["u2", "u1", "u3"]))
        #expect(throws: SpecError.self) {
            _ = try Trainer(schema: Self.schema(minCount: 1), configuration: TrainingConfiguration())
        }
    }

    @Test func vocabularyModelsExportWithParity() throws {
        var random = SplitMix64(seed: 8)
        let rows = (0..<600).map { row in
            let clicked = random.nextUnit() < 0.3
            let tags = "t\(random.next() % 6)|t\(random.next() % 6)"
            return "r\(row / 4),u\(random.next() % 40),\(tags),i\(random.next() % 30),\(random.uniform(1, 90)),"
                + "\(clicked ? 1 : 0),\(clicked && random.nextUnit() < 0.3 ? 1 : 0)"
        }
        let file = try Self.write(rows)
        let schema = try Self.schema(minCount: 3).resolvingVocabularies(file: file)
        let trainer = try Trainer(schema: schema, configuration: TestSupport.smallConfiguration(.esmm, batchSize: 64))
        _ = try trainer.train(file: file)
        let data = try TrainingDataReader.readAll(path: file, schema: schema)
        let result = try CheckpointExporter(trainer: trainer).export(
            modelsDirectory: TestSupport.temporaryDirectory("vocabulary-models"), name: "v", version: 1, sample: data)
        #expect(result.maxDifference <= 1e-5)
        let served = try Checkpoint(contentsOfFile: result.path).header.features.fields[0]
        #expect(served.vocabulary == schema.features.fields[0].vocabulary && served.vocabulary != .ids([]))
    }
}
