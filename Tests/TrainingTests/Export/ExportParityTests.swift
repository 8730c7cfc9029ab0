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

    /// ESDC by default trains a separate CTR network: the export holds it (`ctr_network`), the served pCTR is its
    /// own, pCTCVR the student's product, and the served checkpoint reproduces the trainer's combined predictor;
    /// `ctr_network: shared` exports the student alone.
    @Test(arguments: [LossConfiguration.CTRNetwork.auto, .shared])
    func aSeparateCTRNetworkIsExportedAndServed(choice: LossConfiguration.CTRNetwork) throws {
        let data = NetworkGradientTests.makeData()
        var configuration = TestSupport.smallConfiguration(.esdc, network: Self.networks[0], batchSize: 32)
        configuration.shuffleWindow = 64
        configuration.losses.ctrNetwork = choice
        let trainer = try Trainer(schema: TestSupport.schema, configuration: configuration)
        for start in stride(from: 0, to: 64, by: 32) { trainer.step(data, rows: Array(start..<start + 32)) }
        let models = TestSupport.temporaryDirectory("models")
        let result = try CheckpointExporter(trainer: trainer).export(
            modelsDirectory: models, name: "student", version: 1, sample: data)
        #expect(result.maxDifference <= 1e-5)
        let checkpoint = try Checkpoint(contentsOfFile: result.path)
        #expect((checkpoint.header.ctrNetwork != nil) == (choice == .auto))
        let rows = Array(0..<64)
        var ctr = [Float](repeating: 0, count: 64), cvr = ctr, studentCTR = ctr, studentCVR = ctr
        ServingPredictor(checkpoint: checkpoint).predict(data, rows: rows, ctr: &ctr, cvr: &cvr)
        StudentPredictor(network: trainer.student).predict(data, rows: rows, ctr: &studentCTR, cvr: &studentCVR)
        guard choice == .auto else {
            #expect(ctr == studentCTR)
            return
        }
        var separate = ctr, unused = ctr
        StudentPredictor(network: trainer.ctrNetwork!).predict(data, rows: rows, ctr: &separate, cvr: &unused)
        for r in rows {
            #expect(abs(ctr[r] - separate[r]) <= 1e-5)
            let ctcvr = min(studentCTR[r] * studentCVR[r], separate[r])
            #expect(abs(ctr[r] * cvr[r] - ctcvr) <= 1e-5)
        }
        #expect(zip(ctr, studentCTR).contains { abs($0 - $1) > 1e-3 })  // two different networks
    }
}
