import Foundation
import Testing

/// `--threads` on `train`, `evaluate` and `export`: the count is used and reported, and the model and its evaluation
/// do not depend on it.
struct ThreadsCommandTests {
    func funnelTrain(_ arguments: String...) throws -> FunnelTrainRun.Result { try FunnelTrainRun.run(arguments) }

    @Test func threadCountChangesNothingButTheThreads() throws {
        let world = NSTemporaryDirectory() + "funnel-threads-\(UUID())"
        defer { try? FileManager.default.removeItem(atPath: world) }
        let simulated = try funnelTrain(
            "simulate", "-o", world, "--train-rows", "4000", "--test-rows", "1000", "--users", "200", "--items", "300")
        #expect(simulated.status == 0, "\(simulated.error)")
        var reports: [String] = []
        for threads in ["1", "3"] {
            let state = world + "/\(threads).ftrain", report = world + "/\(threads).json"
            let trained = try funnelTrain(
                "train", "--data", world + "/train.csv", "--schema", world + "/schema.json", "--state", state,
                "--batch-size", "256", "--threads", threads)
            #expect(trained.status == 0, "\(trained.error)")
            #expect(trained.output.contains(", \(threads) threads"), "\(trained.output)")
            // Evaluated with the other count: the figures are the model's alone.
            let evaluated = try funnelTrain(
                "evaluate", "--state", state, "--data", world + "/test.csv", "--report", report, "--threads",
                threads == "1" ? "2" : "1")
            #expect(evaluated.status == 0, "\(evaluated.error)")
            reports.append(try String(contentsOfFile: report, encoding: .utf8))
            let exported = try funnelTrain(
                "export", "--state", state, "--models", world + "/models\(threads)", "--name", "m", "--model-version",
                "1", "--sample", world + "/test.csv", "--threads", threads)
            #expect(exported.status == 0, "\(exported.error)")
        }
        #expect(reports[0] == reports[1])
        let checkpoints = try ["1", "3"].map {
            try Data(contentsOf: URL(fileURLWithPath: world + "/models\($0)/m/1/model.fckpt"))
        }
        #expect(checkpoints[0] == checkpoints[1])  // the exported student, byte for byte

        let rejected = try funnelTrain(
            "train", "--data", world + "/train.csv", "--schema", world + "/schema.json", "--state", world + "/x.ftrain",
            "--threads", "0")
        #expect(rejected.status != 0 && rejected.error.contains("--threads must be at least 1"), "\(rejected.error)")
    }
}
