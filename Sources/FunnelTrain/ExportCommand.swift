import ArgumentParser
import Ranking
import Training

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the frozen student as models/<name>/<version>/model.fckpt and check serving parity (1e-5).")

    @Option(help: "Training state written by train.")
    var state: String

    @Option(help: "Model repository root.")
    var models = "models"

    @Option(help: "Model name.")
    var name = "funnel-student"

    @Option(help: "Model version (a new directory under models/<name>/).")
    var modelVersion: Int

    @Option(help: "CSV whose first rows are the parity sample (the state's schema applies).")
    var sample: String

    @Option(help: "Evaluation report JSON whose headline figures go into the checkpoint header.")
    var report: String?

    @OptionGroup var threadOptions: ThreadOptions

    func run() throws {
        let trainer = try TrainingStateFile.read(path: state)
        trainer.threads = threadOptions.threads
        let reader = try TrainingDataReader(path: sample, schema: trainer.schema)
        let rows = EncodedRows(layout: reader.layout, capacity: 4096)
        _ = try reader.read(into: rows)
        var metrics: [String: Double] = [:]
        if let report {
            let evaluation = try EvaluationReport.load(path: report)
            metrics = evaluation.headline
        }
        let result = try CheckpointExporter(trainer: trainer).export(
            modelsDirectory: models, name: name, version: modelVersion, sample: rows, metrics: metrics)
        print(
            "wrote \(result.path) (\(result.bytes) bytes); serving parity on \(result.sampleRows) rows: "
                + "max |Δ| = \(result.maxDifference) ≤ \(CheckpointExporter.tolerance)")
    }
}
