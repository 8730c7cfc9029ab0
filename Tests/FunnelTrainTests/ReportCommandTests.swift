import Foundation
import Testing

/// `train --html` and `evaluate --html` on a small simulated world: the file has every section, draws the figures
/// each source can give, and fetches nothing.
struct ReportCommandTests {
    func funnelTrain(_ arguments: String...) throws -> FunnelTrainRun.Result { try FunnelTrainRun.run(arguments) }

    static let sections = ["metrics", "calibration", "deciles", "roc", "training", "delay", "peers", "metadata"]

    func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    func svgCount(_ html: String) -> Int { html.components(separatedBy: "<svg").count - 1 }

    func expectSelfContained(_ html: String) {
        for id in Self.sections { #expect(html.contains("<section id=\"\(id)\">"), "no section \(id)") }
        #expect(!html.lowercased().contains("<script") && !html.contains("src=") && !html.contains("<link"))
    }

    @Test func trainAndEvaluateWriteTheReport() throws {
        let world = NSTemporaryDirectory() + "funnel-report-\(UUID())"
        defer { try? FileManager.default.removeItem(atPath: world) }
        let simulated = try funnelTrain(
            "simulate", "-o", world, "--train-rows", "6000", "--test-rows", "2000", "--users", "300", "--items", "400")
        #expect(simulated.status == 0, "\(simulated.error)")
        let (schema, test, truth) = (world + "/schema.json", world + "/test.csv", world + "/test_truth.csv")
        let trained = try funnelTrain(
            "train", "--data", world + "/train.csv", "--schema", schema, "--state", world + "/s.ftrain", "--test", test,
            "--truth", truth, "--batch-size", "128", "--html", world + "/train.html")
        #expect(trained.status == 0, "\(trained.error)")
        #expect(trained.output.contains("wrote report \(world)/train.html"))
        // Not a terminal: plain progress lines with the ETA.
        #expect(trained.output.contains("rows/s  ETA ") && !trained.output.contains("\r"), "\(trained.output)")
        let trainHTML = try read(world + "/train.html")
        expectSelfContained(trainHTML)
        // ESDC with its delay tower: 4 tasks × (reliability, counts, deciles), ROC, loss, running AUC, delay CDF.
        #expect(svgCount(trainHTML) == 4 * 3 + 1 + 2 + 1)
        #expect(trainHTML.contains("CVR-ES") && trainHTML.contains("observed F(e)"))
        #expect(trainHTML.contains("No benchmark result given"))

        let comparison = FunnelTrainRun.root.appendingPathComponent("Tests/Report/bench_results.json").path
        let evaluated = try funnelTrain(
            "evaluate", "--state", world + "/s.ftrain", "--data", test, "--truth", truth, "--html",
            world + "/evaluate.html", "--compare", comparison)
        #expect(evaluated.status == 0, "\(evaluated.error)")
        let evaluateHTML = try read(world + "/evaluate.html")
        expectSelfContained(evaluateHTML)
        #expect(svgCount(evaluateHTML) == svgCount(trainHTML))
        #expect(evaluateHTML.contains("<td>LightGBM</td>") && evaluateHTML.contains("rechub ESMM, best of 1–1"))

        // A serving checkpoint: no history, no delay tower; both sections say so.
        let models = world + "/models"
        let exported = try funnelTrain(
            "export", "--state", world + "/s.ftrain", "--models", models, "--name", "m", "--model-version", "1",
            "--sample", test)
        #expect(exported.status == 0, "\(exported.error)")
        let checkpoint = try funnelTrain(
            "evaluate", "--checkpoint", models + "/m/1/model.fckpt", "--schema", schema, "--data", test, "--html",
            world + "/checkpoint.html")
        #expect(checkpoint.status == 0, "\(checkpoint.error)")
        let checkpointHTML = try read(world + "/checkpoint.html")
        expectSelfContained(checkpointHTML)
        #expect(checkpointHTML.contains("keeps no training history"))
        #expect(checkpointHTML.contains("A serving checkpoint has no delay tower"))
        #expect(svgCount(checkpointHTML) == 3 * 3 + 1)
    }

    /// On a terminal (util-linux `script` gives the binary a pseudo-terminal) the progress is one line rewritten in
    /// place: carriage returns and "erase to end of line", no newline until training ends.
    @Test func progressIsOneUpdatingLineOnATerminal() throws {
        let world = NSTemporaryDirectory() + "funnel-progress-\(UUID())"
        defer { try? FileManager.default.removeItem(atPath: world) }
        let simulated = try funnelTrain(
            "simulate", "-o", world, "--train-rows", "4000", "--test-rows", "100", "--users", "200", "--items", "300")
        #expect(simulated.status == 0, "\(simulated.error)")
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("funnel-train").path
        let command = [
            binary, "train", "--data", world + "/train.csv", "--schema", world + "/schema.json", "--state",
            world + "/s.ftrain", "--batch-size", "16",
        ].joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, "/dev/null"]
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        // Several progress reports, each starting with a carriage return and ending with the erase sequence, on one
        // line (the terminal's newlines are \r\n; none falls between two reports).
        let updates = text.components(separatedBy: "\rstep ").count - 1
        #expect(
            updates >= 1 && text.components(separatedBy: "\u{1B}[K").count - 1 == updates, "\(text.debugDescription)")
        let start = try #require(text.range(of: "\rstep "))
        let line = text[start.lowerBound...].prefix { $0 != "\r\n" && $0 != "\n" }
        #expect(line.components(separatedBy: "rows/s  ETA").count - 1 == updates, "\(line.debugDescription)")
        #expect(text.contains("trained 4000 rows"))
    }

    @Test func reportFlagsAreChecked() throws {
        let noTest = try funnelTrain("train", "--data", "x.csv", "--state", "s.ftrain", "--html", "r.html")
        #expect(noTest.status != 0 && noTest.error.contains("--html needs --test"))
        let noHTML = try funnelTrain("evaluate", "--data", "x.csv", "--state", "s.ftrain", "--compare", "b.json")
        #expect(noHTML.status != 0 && noHTML.error.contains("--compare needs --html"))
    }
}
