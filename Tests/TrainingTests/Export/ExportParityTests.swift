import Foundation
import Ranking
import Testing

@testable import Training

/// The exported checkpoint, served by `InferenceNetwork`, reproduces the trainer's student.
struct ExportParityTests {
    static let networks: [NetworkSpec] = [
        .sharedBottom(layers: [9, 7], towerLayers: [5]),
        .mmoe(experts: 3, expertLayers: [8], towerLayers: [8, 6]),
        .ple(levels: 2, sharedExperts: 1, specificExperts: 2, expertLayers: [10, 6], towerLayers: []),
        {  // with the first-order part
            var network = NetworkSpec.ple(
                levels: 1, sharedExperts: 1, specificExperts: 1, expertLayers: [8], towerLayers: [4])
            network.wide = true
            return network
        }(),
        {  // with three cross layers
            var network = NetworkSpec.sharedBottom(layers: [8], towerLayers: [4])
            network.crossLayers = 3
            return network
        }(),
    ]
    static let networkIndices = Array(networks.indices)

    @Test(arguments: networkIndices)
    func servedCheckpointMatchesTheTrainedStudent(index: Int) throws {
        let data = NetworkGradientTests.makeData()
        var configuration = TestSupport.smallConfiguration(.escm2IPS, network: Self.networks[index], batchSize: 32)
        configuration.shuffleWindow = 64
        let trainer = try Trainer(schema: TestSupport.schema, configuration: configuration)
        for start in stride(from: 0, to: 64, by: 32) { trainer.step(data, rows: Array(start..<start + 32)) }
        let models = TestSupport.temporaryDirectory("models")
        let result = try CheckpointExporter(trainer: trainer).export(
            modelsDirectory: models, name: "student", version: 3, sample: data)
        #expect(result.path == models + "/student/3/model.fckpt")
        #expect(result.maxDifference <= 1e-5)
        let checkpoint = try Checkpoint(contentsOfFile: result.path)
        #expect(checkpoint.header.features.fields.allSatisfy { $0.group != .privileged })
        #expect(checkpoint.header.training.rows == 64)
        // The served predictions are not constant: the check compares real functions.
        var ctr = [Float](repeating: 0, count: 64), cvr = ctr
        ServingPredictor(checkpoint: checkpoint).predict(data, rows: Array(0..<64), ctr: &ctr, cvr: &cvr)
        #expect(Set(ctr).count > 10 && Set(cvr).count > 10)
    }
}
