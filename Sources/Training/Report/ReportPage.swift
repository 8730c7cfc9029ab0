import Ranking

/// The training and evaluation report: one self-contained HTML file (inline CSS and SVG; no script, nothing
/// fetched) rendered from an `EvaluationReport` with its curves, the training history, the model's metadata
/// and, optionally, a benchmark's peers. Sections: metrics, calibration, deciles, roc, training, delay, peers,
/// metadata (the ids of their `<section>` elements). The figures are in `ReportPage+Figures.swift`.
public struct ReportPage {
    public var evaluation: EvaluationReport
    public var metadata: ReportMetadata
    /// Loss and running AUC per step; nil when the model's source keeps none (a serving checkpoint).
    public var history: TrainingHistory?
    /// Why there is no delay fit, when there is none (e.g. "the model ignores delays").
    public var delayNote: String
    public var comparison: BenchmarkComparison?

    public init(
        evaluation: EvaluationReport, metadata: ReportMetadata, history: TrainingHistory?,
        delayNote: String = "no delay tower was evaluated", comparison: BenchmarkComparison? = nil
    ) {
        self.evaluation = evaluation
        self.metadata = metadata
        self.history = history
        self.delayNote = delayNote
        self.comparison = comparison
    }

    /// One evaluated task: its label, figures, curves and colour in every chart.
    struct Task {
        var name: String
        var description: String
        var metrics: TaskMetrics
        var curves: TaskCurves?
        var colour: String
    }

    var tasks: [Task] {
        let curves = evaluation.curves
        var tasks = [
            Task(
                name: "CTR", description: "pCTR on every impression", metrics: evaluation.ctr, curves: curves?.ctr,
                colour: "#1f77b4"),
            Task(
                name: "CVR", description: "pCVR on clicks with mature labels", metrics: evaluation.cvr,
                curves: curves?.cvr, colour: "#d62728"),
            Task(
                name: "CTCVR", description: "pCTR · pCVR on every impression with a final label",
                metrics: evaluation.ctcvr, curves: curves?.ctcvr, colour: "#2ca02c"),
        ]
        if let entireSpace = evaluation.entireSpaceCVR {
            tasks.append(
                Task(
                    name: "CVR-ES", description: "pCVR on every impression against would-buy (simulated truth)",
                    metrics: entireSpace, curves: curves?.entireSpaceCVR, colour: "#9467bd"))
        }
        return tasks
    }

    public var html: String {
        let title = "Funnel report: " + metadata.title
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title))</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            <h1>\(HTML.escape(title))</h1>
            <p class="lead">Evaluated on <code>\(HTML.escape(evaluation.file))</code>: \(evaluation.rows) rows.</p>
            <nav>\(navigation)</nav>
            \(metricsSection)
            \(calibrationSection)
            \(decilesSection)
            \(rocSection)
            \(trainingSection)
            \(delaySection)
            \(peersSection)
            \(metadataSection)
            </body>
            </html>

            """
    }

    var navigation: String {
        Self.sections.map { "<a href=\"#\($0.id)\">\(HTML.escape($0.title))</a>" }.joined(separator: " · ")
    }

    /// Writes the page atomically (`AtomicFile`: a reader never sees half a report).
    public func write(path: String) throws {
        try AtomicFile.write(to: path) { try $0.write(Array(html.utf8)) }
    }

    static let sections: [(id: String, title: String)] = [
        ("metrics", "Metrics"), ("calibration", "Calibration"), ("deciles", "PCOC by score decile"),
        ("roc", "ROC curves"), ("training", "Training"), ("delay", "Delay fit"), ("peers", "Peers"),
        ("metadata", "Model, data and configuration"),
    ]

    static func section(_ id: String, intro: String, _ body: String) -> String {
        let title = sections.first { $0.id == id }!.title
        return
            "<section id=\"\(id)\">\n<h2>\(HTML.escape(title))</h2>\n<p>\(HTML.escape(intro))</p>\n\(body)\n</section>"
    }

    static func note(_ text: String) -> String { "<p class=\"note\">\(HTML.escape(text))</p>" }

    var metricsSection: String {
        let rows = tasks.map { task in
            let m = task.metrics
            return [
                task.name + " — " + task.description, "\(m.rows)", "\(m.positives)", HTML.number(m.auc),
                HTML.number(m.gauc), HTML.number(m.logLoss), HTML.number(m.pcoc, digits: 3),
            ]
        }
        var body = HTML.table(
            header: ["task", "rows", "positives", "AUC", "GAUC", "log loss", "PCOC"], rows: rows)
        if let calibration = evaluation.entireSpaceCVRCalibration {
            body += "\n" + Self.note("Entire-space Σ pCVR / Σ true pCVR = " + String.fixed(calibration, digits: 3))
        }
        return Self.section(
            "metrics",
            intro: "GAUC groups by \(evaluation.groupedBy). PCOC = Σ predicted / Σ observed (1 is calibrated).",
            body)
    }

    var peersSection: String {
        let intro =
            "Figures of the quality benchmark (scripts/bench_quality.py), mean over seeds, beside this report's model."
        guard let comparison, !comparison.worlds.isEmpty else {
            return Self.section(
                "peers", intro: intro,
                Self.note("No benchmark result given (--compare results.json from scripts/bench_quality.py)."))
        }
        let columns = BenchmarkComparison.columns
        let header = ["model", "seeds"] + columns.map(\.header)
        func cells(_ figures: [String: Double]) -> [String] {
            columns.map { HTML.number(figures[$0.key], digits: $0.digits) }
        }
        var body = "<p>From <code>\(HTML.escape(comparison.source))</code>.</p>"
        let own = ["this report: " + metadata.title, "–"] + cells(evaluation.benchmarkFigures)
        for world in comparison.worlds {
            let flags = world.simulateFlags.map {
                $0.isEmpty ? "simulate with its defaults" : $0.joined(separator: " ")
            }
            body += "\n<h3>\(HTML.escape(world.name))\(flags.map { " (" + HTML.escape($0) + ")" } ?? "")</h3>\n"
            body += HTML.table(
                header: header, rows: [own] + world.rows.map { [$0.label, "\($0.seeds)"] + cells($0.figures) })
        }
        return Self.section("peers", intro: intro, body)
    }

    var metadataSection: String {
        func list(_ entries: [(label: String, value: String)]) -> String {
            "<dl>\n"
                + entries.map { "<dt>\(HTML.escape($0.label))</dt><dd>\(HTML.escape($0.value))</dd>" }
                .joined(separator: "\n") + "\n</dl>"
        }
        var body = "<h3>Model</h3>\n" + list(metadata.model) + "\n<h3>Data</h3>\n" + list(metadata.data)
        if let configuration = metadata.configuration {
            body += "\n<h3>Configuration</h3>\n<pre>\(HTML.escape(configuration))</pre>"
        }
        return Self.section("metadata", intro: "Where the figures come from.", body)
    }

    static let style = """
        body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1280px; padding: 0 16px; \
        color: #222; }
        h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; border-bottom: 1px solid #ddd; \
        margin-top: 32px; } h3 { font-size: 15px; }
        nav a { color: #1f5fa8; } .lead { color: #555; } .note { color: #777; font-style: italic; }
        table { border-collapse: collapse; margin: 8px 0; } th, td { padding: 3px 10px; border-bottom: 1px solid #eee; \
        text-align: left; } .num { text-align: right; font-variant-numeric: tabular-nums; }
        .figures { display: flex; flex-wrap: wrap; gap: 16px; } figure { margin: 0; }
        figcaption { font-weight: 600; margin-bottom: 4px; } svg { font-size: 11px; fill: #333; }
        details { margin: 4px 0 12px; } summary { cursor: pointer; color: #555; }
        dt { font-weight: 600; float: left; clear: left; width: 160px; } dd { margin-left: 170px; }
        pre { background: #f6f6f6; padding: 8px; max-height: 320px; overflow: auto; }
        """
}
