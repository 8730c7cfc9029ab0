import ArgumentParser
import Training

/// `--html` and `--compare`, shared by `train` and `evaluate`: where the HTML report goes and which benchmark's
/// peers it shows.
struct ReportOptions: ParsableArguments {
    @Option(help: "Write the training and evaluation report here: one self-contained HTML file with plots.")
    var html: String?

    @Option(
        help: "With --html: a benchmark result (scripts/bench_quality.py's results.json) whose peers the report shows.")
    var compare: String?

    func validate() throws {
        if compare != nil && html == nil { throw ValidationError("--compare needs --html") }
    }

    /// Renders and writes the report when `--html` was given.
    func write(
        evaluation: EvaluationReport, metadata: ReportMetadata, history: TrainingHistory?, delayNote: String
    ) throws {
        guard let html else { return }
        let comparison = try compare.map { try BenchmarkComparison.load(path: $0) }
        let page = ReportPage(
            evaluation: evaluation, metadata: metadata, history: history, delayNote: delayNote, comparison: comparison)
        try page.write(path: html)
        print("wrote report \(html)")
    }

    /// Why a trainer's report has no delay fit (when it has none).
    static func delayNote(_ trainer: Trainer) -> String {
        let delay = trainer.configuration.losses.delay
        return delay == .model
            ? "The model's delay tower was not evaluated."
            : "The model was trained with --delay \(delay.rawValue): it has no delay tower."
    }
}
