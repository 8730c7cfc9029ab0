import Foundation
import Ranking
import Testing

@testable import Training

/// `"crosses": "auto"` crosses the fields that interact and no others; crossed models export with serving parity.
struct CrossSelectionTests {
    /// Clicks with logit −2.5 + additive effects of segment, hour and category + a segment × category table:
    /// segment and category interact, hour only adds.
    static let file: String = {
        var random = SplitMix64(seed: 21)
        let table = (0..<8).map { _ in (0..<10).map { _ in 1.2 * random.normal() } }
        var lines = ["req,segment,hour,category,shop,price,click,buy"]
        for row in 0..<40_000 {
            let (segment, hour, category) = (Int(random.next() % 8), Int(random.next() % 6), Int(random.next() % 10))
            let logit = -2.5 + 0.3 * Double(hour % 3) + 0.2 * Double(category % 4) + table[segment][category]
            let clicked = random.nextUnit() < 1 / (1 + exp(-logit))
            let bought = clicked && random.nextUnit() < 0.2
            lines.append(
                "r\(row / 5),s\(segment),h\(hour),c\(category),p\(random.next() % 5),\(random.uniform(1, 50)),"
                    + "\(clicked ? 1 : 0),\(bought ? 1 : 0)")
        }
        let path = TestSupport.temporaryDirectory("crosses") + "/train.csv"
        try! TestSupport.write(lines.joined(separator: "\n"), to: path)
        return path
    }()

    static func schema(crosses: CrossSelection) -> TrainingSchema {
        TrainingSchema(
            features: FeatureSpec(
                hashSeed: 2,
                fields: [
                    FieldSpec(name: "segment", group: .user, kind: .categorical(buckets: 32), dimension: 2),
                    FieldSpec(name: "hour", group: .context, kind: .categorical(buckets: 32), dimension: 2),
                    FieldSpec(name: "category", group: .item, kind: .categorical(buckets: 64), dimension: 2),
                    FieldSpec(name: "shop", group: .item, kind: .categorical(buckets: 16), dimension: 2),
                    FieldSpec(name: "price", group: .item, kind: .numeric(.log1p), dimension: 1),
                ]),
            labels: LabelColumns(click: "click", conversion: "buy", requestID: "req"), crosses: crosses)
    }

    @Test func autoCrossesOnlyTheInteractingPair() throws {
        let candidates = try CrossSearch().candidates(schema: Self.schema(crosses: .auto), file: Self.file)
        #expect(candidates.count == 4)  // {segment, hour} × {category, shop}
        let gains = Dictionary(uniqueKeysWithValues: candidates.map { ("\($0.shared)×\($0.item)", $0.gain) })
        #expect(gains["segment×category"]! > 0.01)
        for pair in ["hour×category", "segment×shop", "hour×shop"] {
            #expect(gains[pair]! < CrossSearch().minimumGain)
        }
        let resolved = try Self.schema(crosses: .auto).resolvingCrosses(file: Self.file)
        #expect(resolved.crosses == CrossSelection.none)
        let added = try #require(resolved.features.fields.last)
        #expect(added.name == "segment_x_category" && added.group == .item)
        #expect(added.kind == .cross(of: ["segment", "category"], buckets: 8 * 80 + 1))  // 8 rows per combination
    }

    @Test func namedCrossesAreAddedAsGiven() throws {
        let resolved = try Self.schema(crosses: .pairs([["segment", "hour"]])).resolvingCrosses(file: Self.file)
        #expect(resolved.features.fields.last?.kind == .cross(of: ["segment", "hour"], buckets: 8 * 48 + 1))
        #expect(resolved.features.fields.last?.group == .context)
        #expect(try Self.schema(crosses: .none).resolvingCrosses(file: Self.file) == Self.schema(crosses: .none))
        #expect(throws: SpecError("crosses: 'price' is not a categorical field")) {
            try Self.schema(crosses: .pairs([["segment", "price"]])).validate()
        }
        #expect(throws: SpecError.self) {
            _ = try Trainer(schema: Self.schema(crosses: .auto), configuration: TrainingConfiguration())
        }
    }

    @Test func theSchemaKeyDefaultsToAutoAndIsChecked() throws {
        func decode(_ crosses: String) throws -> CrossSelection {
            var json = #"{"features": {"hash_seed": 1, "fields": []}, "labels": {"click": "c", "conversion": "v"}"#
            json += crosses.isEmpty ? "}" : #", "crosses": \#(crosses)}"#
            return try StrictJSON.decode(TrainingSchema.self, from: Data(json.utf8)).crosses
        }
        #expect(try decode("") == .auto)
        #expect(try decode(#""none""#) == CrossSelection.none)
        #expect(try decode(#"[["a", "b"]]"#) == .pairs([["a", "b"]]))
        #expect(throws: (any Error).self) { try decode(#""sometimes""#) }
    }

    /// The crossed student, exported, scores like the trainer: the cross rows come from the one encoder on both sides.
    @Test func crossedModelsExportWithParity() throws {
        let schema = try Self.schema(crosses: .auto).resolvingCrosses(file: Self.file)
        var configuration = TestSupport.smallConfiguration(.esmm, batchSize: 512)
        configuration.epochs = 1
        let trainer = try Trainer(schema: schema, configuration: configuration)
        _ = try trainer.train(file: Self.file)
        let data = try TrainingDataReader.readAll(path: Self.file, schema: schema)
        let models = TestSupport.temporaryDirectory("cross-models")
        let result = try CheckpointExporter(trainer: trainer).export(
            modelsDirectory: models, name: "c", version: 1, sample: data)
        #expect(result.maxDifference <= 1e-5)
        let checkpoint = try Checkpoint(contentsOfFile: result.path)
        #expect(checkpoint.header.features.fields.contains { $0.name == "segment_x_category" })
        #expect(checkpoint.values(NetworkShape.embedding("segment_x_category")).count == (8 * 80 + 1) * 4)
    }
}
