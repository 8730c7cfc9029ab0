import Foundation
import Ranking
import Testing

@testable import Training

/// The torch-rechub Ali-CCP CSV, end to end on the real sample rows.
struct AliCCPTests {
    @Test func trainsEvaluatesAndExportsOnTheRealSample() throws {
        let directory = TestSupport.aliCCPDirectory
        let schema = AliCCPFormat.schema(buckets: 1_000)
        let train = try TrainingDataReader.readAll(path: directory + "/ali_ccp_train_sample.csv", schema: schema)
        #expect(train.count == 100)
        #expect(train.layout.shared.fields.count == 18 && train.layout.item.fields.count == 13)
        var configuration = TestSupport.smallConfiguration(.escm2IPS, batchSize: 32)
        configuration.shuffleWindow = 64
        let trainer = try Trainer(schema: schema, configuration: configuration)
        let summary = try trainer.train(file: directory + "/ali_ccp_train_sample.csv")
        #expect(summary.rows == 100 && summary.steps == 4 && summary.finalLoss.isFinite)
        let report = try Evaluator(schema: schema).evaluate(
            trainer.predictor, file: directory + "/ali_ccp_test_sample.csv")
        #expect(report.rows == 50)
        #expect(report.ctr.logLoss!.isFinite)
        let models = TestSupport.temporaryDirectory("ali-models")
        let test = try TrainingDataReader.readAll(path: directory + "/ali_ccp_test_sample.csv", schema: schema)
        let result = try CheckpointExporter(trainer: trainer).export(
            modelsDirectory: models, name: "ali", version: 1, sample: test)
        #expect(result.maxDifference <= 1e-5)
    }

    @Test func privilegedCrossesLeaveTheServingSpec() {
        let schema = AliCCPFormat.schema(crossesArePrivileged: true)
        #expect(schema.servingFeatures.fields.count == schema.features.fields.count - 8)
    }
}
