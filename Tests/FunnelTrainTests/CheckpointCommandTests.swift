import Foundation
import Testing

/// `funnel-train checkpoint …` run as a user runs it: the built binary, real files, exit codes and output.
struct CheckpointCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let defaultModel = root.appendingPathComponent("models/funnel-student/1/model.fckpt").path

    typealias Result = FunnelTrainRun.Result

    func funnelTrain(_ arguments: String...) throws -> Result { try FunnelTrainRun.run(arguments) }

    func temporaryPath(_ name: String) -> String {
        NSTemporaryDirectory() + "funnel-cli-\(UUID())-\(name)"
    }

    @Test func defaultModelVerifies() throws {
        let result = try funnelTrain("checkpoint", "verify", Self.defaultModel)
        #expect(result.status == 0)
        #expect(result.output.contains("OK (funnel-student v1, 35 tensors"))
    }

    @Test func inspectPrintsSpecsAndTensors() throws {
        let result = try funnelTrain("checkpoint", "inspect", Self.defaultModel)
        #expect(result.status == 0)
        for expected in [
            "model       funnel-student version 1", "user_recent_categories", "embedding.item_id",
            "bottom.0.gate.cvr.weight", "tower.ctr.logit.bias", "pCTR^1.0 · pCVR^1.0 · price^1.0",
        ] {
            #expect(result.output.contains(expected), "missing \(expected)")
        }
    }

    @Test func corruptAndTruncatedFilesFailWithAClearMessage() throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.defaultModel))
        let corrupt = temporaryPath("corrupt.fckpt"), truncated = temporaryPath("truncated.fckpt")
        defer {
            unlink(corrupt)
            unlink(truncated)
        }
        try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: truncated))
        // The last tensor, tower.cvr.logit.bias, is 4 bytes followed by 60 bytes of padding.
        bytes[bytes.count - 62] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: corrupt))
        let damaged = try funnelTrain("checkpoint", "verify", corrupt)
        #expect(damaged.status == 1)
        #expect(damaged.error.contains("checksum mismatch in tensor 'tower.cvr.logit.bias': the file is corrupt"))
        bytes[bytes.count - 62] ^= 0xFF
        bytes[bytes.count - 10] = 1
        try bytes.write(to: URL(fileURLWithPath: corrupt))
        let padding = try funnelTrain("checkpoint", "verify", corrupt)
        #expect(padding.status == 1 && padding.error.contains("padding byte \(bytes.count - 10) is not zero"))
        let short = try funnelTrain("checkpoint", "inspect", truncated)
        #expect(short.status == 1)
        #expect(short.error.contains("checkpoint is truncated"))
        let missing = try funnelTrain("checkpoint", "verify", "/nonexistent.fckpt")
        #expect(missing.status == 1 && missing.error.contains("No such file or directory"))
    }

    @Test func initIsReproducibleAndRejectsBadSpecs() throws {
        let first = temporaryPath("a.fckpt"), second = temporaryPath("b.fckpt"), spec = temporaryPath("spec.json")
        defer { for path in [first, second, spec] { unlink(path) } }
        for path in [first, second] {
            let result = try funnelTrain(
                "checkpoint", "init", "--spec", "config/models/default.json", "-o", path, "--seed", "9")
            #expect(result.status == 0)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: first)) == Data(contentsOf: URL(fileURLWithPath: second)))

        try Data(#"{"features": {"hash_seed": 1, "fields": []}, "network": {"architecture": "mmoe"}}"#.utf8)
            .write(to: URL(fileURLWithPath: spec))
        let bad = try funnelTrain("checkpoint", "init", "--spec", spec, "-o", first)
        #expect(bad.status != 0 && bad.error.contains("cannot read model spec"))
    }

    /// `train` without model or loss flags runs the best measured recipe: ESDC, with delay modelling when the schema
    /// has the times it needs, delays ignored when it has not; asking for delay modelling without them is an error.
    @Test func trainWithoutFlagsRunsTheBestRecipe() throws {
        let world = temporaryPath("world")
        defer { try? FileManager.default.removeItem(atPath: world) }
        let simulated = try funnelTrain(
            "simulate", "-o", world, "--train-rows", "3000", "--test-rows", "500", "--users", "200", "--items", "300")
        #expect(simulated.status == 0, "\(simulated.error)")
        let timed = try funnelTrain(
            "train", "--data", world + "/train.csv", "--schema", world + "/schema.json", "--state", world + "/a.ftrain")
        #expect(timed.status == 0, "\(timed.error)")
        #expect(timed.output.contains("training esdc (delay: model, separate CTR network)"), "\(timed.output)")

        // The same log without a snapshot column: nothing to model delays with.
        let schemaPath = world + "/schema.json"
        var schema =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: schemaPath))) as! [String: Any]
        var labels = schema["labels"] as! [String: Any]
        labels["snapshot_time"] = nil
        schema["labels"] = labels
        let untimedPath = world + "/untimed.json"
        try JSONSerialization.data(withJSONObject: schema).write(to: URL(fileURLWithPath: untimedPath))
        let untimed = try funnelTrain(
            "train", "--data", world + "/train.csv", "--schema", untimedPath, "--state", world + "/b.ftrain")
        #expect(untimed.status == 0, "\(untimed.error)")
        #expect(untimed.output.contains("training esdc (delay: ignore, separate CTR network)"), "\(untimed.output)")
        // The exported checkpoint, evaluated on a log whose thumbnail scores lie far outside the training range, scores
        // as the training state does: both clamp to the range the model was trained on (the server's encoding).
        let models = world + "/models"
        #expect(
            try funnelTrain(
                "export", "--state", world + "/a.ftrain", "--models", models, "--name", "student", "--model-version",
                "1",
                "--sample", world + "/test.csv"
            ).status == 0)
        // The default recipe's export holds the separate CTR network, and `checkpoint inspect` says so.
        let inspected = try funnelTrain("checkpoint", "inspect", models + "/student/1/model.fckpt")
        #expect(inspected.status == 0 && inspected.output.contains("ctr network "), "\(inspected.output)")
        #expect(inspected.output.contains("ctr_network.embedding.item_id"), "\(inspected.output)")
        let test = try String(contentsOfFile: world + "/test.csv", encoding: .utf8).split(separator: "\n").map(
            String.init)
        let column = test[0].split(separator: ",").firstIndex(of: "thumbnail_score")!
        let far =
            [test[0]]
            + test.dropFirst().map { line in
                var cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                cells[column] = String(Double(cells[column])! * 100)
                return cells.joined(separator: ",")
            }
        try (far.joined(separator: "\n") + "\n").write(toFile: world + "/far.csv", atomically: true, encoding: .utf8)
        let byState = try funnelTrain("evaluate", "--state", world + "/a.ftrain", "--data", world + "/far.csv")
        let byCheckpoint = try funnelTrain(
            "evaluate", "--checkpoint", models + "/student/1/model.fckpt", "--schema", schemaPath, "--data",
            world + "/far.csv")
        #expect(byState.status == 0 && byCheckpoint.status == 0, "\(byState.error) \(byCheckpoint.error)")
        let rows = { (output: String) in
            output.split(separator: "\n").filter { $0.hasPrefix("CTR ") || $0.hasPrefix("CTCVR ") }
        }
        #expect(
            rows(byState.output).count == 2 && rows(byState.output) == rows(byCheckpoint.output),
            "\(byState.output)\n\(byCheckpoint.output)")

        let refused = try funnelTrain(
            "train", "--data", world + "/train.csv", "--schema", untimedPath, "--state", world + "/c.ftrain",
            "--delay", "model")
        #expect(refused.status != 0)
        #expect(refused.error.contains("--delay model needs snapshot_time and click_time"), "\(refused.error)")
    }
}
