/// The report's charts: each section turns curves that the evaluation computed into `SVGChart`s and tables.
extension ReportPage {
    static func figure(_ caption: String, _ content: String) -> String {
        "<figure>\n<figcaption>\(HTML.escape(caption))</figcaption>\n\(content)\n</figure>"
    }

    static func folded(_ summary: String, _ content: String) -> String {
        "<details><summary>\(HTML.escape(summary))</summary>\n\(content)\n</details>"
    }

    var calibrationSection: String {
        var figures: [String] = []
        for task in tasks {
            guard let bins = task.curves?.reliability.bins, !bins.isEmpty else { continue }
            let filled = bins.filter { $0.rows > 0 }
            let largest = filled.map { max($0.meanPrediction!, $0.observedRate!) }.max() ?? 1
            let top = SVGChart.Axis.roundedUp(largest)
            var chart = SVGChart(
                title: "\(task.name) reliability diagram", x: .linear("mean predicted probability", 0...top),
                y: .linear("observed rate", 0...top), width: 300, height: 280)
            chart.line([(0, 0), (top, top)], colour: "#888", dashed: true)
            chart.line(filled.map { ($0.meanPrediction!, $0.observedRate!) }, colour: task.colour, lineWidth: 1)
            let most = Double(filled.map(\.rows).max() ?? 1)
            chart.markers(
                filled.map { bin in
                    (
                        bin.meanPrediction!, bin.observedRate!, 2.5 + 6 * (Double(bin.rows) / most).squareRoot(),
                        Self.binText(bin)
                    )
                }, colour: task.colour)
            var counts = SVGChart(
                title: "\(task.name) rows per bin",
                x: .linear("bin (low → high predicted)", 0.5...Double(bins.count) + 0.5),
                y: .linear("rows", 0...SVGChart.Axis.roundedUp(most)), width: 300, height: 150)
            counts.bars(
                bins.enumerated().map { (Double($0.offset + 1), Double($0.element.rows), Self.binText($0.element)) },
                barWidth: 0.8, colour: task.colour)
            let table = HTML.table(
                header: ["bin", "predicted range", "rows", "positives", "mean predicted", "observed rate"],
                rows: bins.enumerated().map { i, bin in
                    [
                        "\(i + 1)", Self.probability(bin.lower) + " – " + Self.probability(bin.upper), "\(bin.rows)",
                        "\(bin.positives)", HTML.number(bin.meanPrediction, digits: 5),
                        HTML.number(bin.observedRate, digits: 5),
                    ]
                })
            figures.append(
                Self.figure(
                    "\(task.name): \(task.metrics.rows) rows",
                    chart.svg + "\n" + counts.svg + "\n" + Self.folded("rows per bin", table)))
        }
        return Self.section(
            "calibration",
            intro:
                "Rows binned by predicted probability (\(ReliabilityDiagram.defaultBinCount) bins of equal width on "
                + "the logit scale); each marker is a bin's mean prediction against its observed rate, its area "
                + "growing with the bin's rows. On the dashed diagonal the model is calibrated.",
            "<div class=\"figures\">\n" + figures.joined(separator: "\n") + "\n</div>")
    }

    var decilesSection: String {
        var figures: [String] = []
        for task in tasks {
            guard let deciles = task.curves?.deciles.deciles, !deciles.isEmpty else { continue }
            let highest = deciles.compactMap(\.pcoc).max() ?? 1
            var chart = SVGChart(
                title: "\(task.name) PCOC by score decile", x: .linear("score decile (1: highest scores)", 0.5...10.5),
                y: .linear("PCOC", 0...SVGChart.Axis.roundedUp(max(1.5, highest * 1.05))), width: 300, height: 240)
            chart.bars(
                deciles.compactMap { decile in
                    decile.pcoc.map { (Double(decile.rank), $0, Self.decileText(decile)) }
                }, barWidth: 0.7, colour: task.colour)
            chart.reference(y: 1, text: "PCOC 1: calibrated")
            let table = HTML.table(
                header: ["decile", "rows", "positives", "scores", "mean predicted", "observed rate", "PCOC"],
                rows: deciles.map { d in
                    [
                        "\(d.rank)", "\(d.rows)", "\(d.positives)",
                        Self.probability(d.lowestScore) + " – " + Self.probability(d.highestScore),
                        HTML.number(d.meanPrediction, digits: 5), HTML.number(d.observedRate, digits: 5),
                        HTML.number(d.pcoc, digits: 3),
                    ]
                })
            figures.append(Self.figure(task.name, chart.svg + "\n" + Self.folded("deciles", table)))
        }
        return Self.section(
            "deciles",
            intro:
                "Rows split into ten equal parts by descending score; PCOC = Σ predicted / Σ observed in each (no bar: "
                + "no positive in the decile).",
            "<div class=\"figures\">\n" + figures.joined(separator: "\n") + "\n</div>")
    }

    var rocSection: String {
        var chart = SVGChart(
            title: "ROC curves", x: .linear("false-positive rate", 0...1), y: .linear("true-positive rate", 0...1),
            width: 420, height: 380)
        chart.legendAtBottomRight = true
        chart.line([(0, 0), (1, 1)], colour: "#888", dashed: true)
        for task in tasks {
            guard let roc = task.curves?.roc, let area = roc.area else { continue }
            chart.line(
                roc.points.map { ($0.falsePositiveRate, $0.truePositiveRate) }, colour: task.colour,
                name: "\(task.name) AUC " + String.fixed(area, digits: 4))
        }
        return Self.section(
            "roc",
            intro: "True- against false-positive rate as the threshold falls; the area under each curve is its AUC.",
            chart.svg)
    }

    var trainingSection: String {
        let intro = "Per step: the moving average of the batch loss and the AUC over the most recent training rows."
        guard let points = history?.points, points.count >= 2 else {
            return Self.section(
                "training", intro: intro,
                Self.note(
                    history == nil
                        ? "A serving checkpoint keeps no training history: evaluate the training state (--state)."
                        : "The training state holds fewer than two progress points."))
        }
        let steps = SVGChart.Axis.linear("step", Double(points.first!.step)...Double(points.last!.step))
        let losses = points.map(\.loss).filter(\.isFinite)
        let low = losses.min() ?? 0, high = losses.max() ?? 1
        let pad = max((high - low) * 0.05, 1e-6)
        var loss = SVGChart(
            title: "training loss", x: steps, y: .linear("loss (moving average)", (low - pad)...(high + pad)))
        loss.line(points.map { (Double($0.step), $0.loss) }, colour: "#444", name: "loss")
        let aucs = points.flatMap { [$0.runningCTRAUC, $0.runningCTCVRAUC].compactMap { $0 } }
        let floor = ((aucs.min() ?? 0.5) * 20).rounded(.down) / 20
        var auc = SVGChart(title: "running AUC", x: steps, y: .linear("running AUC", min(floor, 0.5)...1))
        auc.line(
            points.compactMap { p in p.runningCTRAUC.map { (Double(p.step), $0) } }, colour: "#1f77b4", name: "CTR")
        auc.line(
            points.compactMap { p in p.runningCTCVRAUC.map { (Double(p.step), $0) } }, colour: "#2ca02c",
            name: "CTCVR")
        return Self.section(
            "training", intro: intro + " \(points.count) points.",
            "<div class=\"figures\">\n" + Self.figure("Loss", loss.svg) + "\n" + Self.figure("Running AUC", auc.svg)
                + "\n</div>")
    }

    var delaySection: String {
        let intro =
            "Click → conversion delay on the evaluated clicks whose attribution window had elapsed: the observed share "
            + "of conversions by each delay bucket's upper bound, F(e), against the model's mean predicted F(e)."
        guard let fit = evaluation.delayFit, !fit.buckets.isEmpty else {
            return Self.section(
                "delay", intro: intro,
                Self.note(evaluation.delayFit == nil ? delayNote : "No mature conversion in the evaluated file."))
        }
        let count = Double(fit.buckets.count)
        let axis = SVGChart.Axis(
            label: "delay bucket upper bound", range: 0.5...count + 0.5,
            ticks: fit.buckets.enumerated().map { (Double($0.offset + 1), Self.hours($0.element.upperHours)) })
        var chart = SVGChart(title: "delay CDF", x: axis, y: .linear("F(e): share converted by then", 0...1))
        let observed = fit.buckets.enumerated().map { (x: Double($0.offset + 1), y: $0.element.observedCDF) }
        let predicted = fit.buckets.enumerated().map { (x: Double($0.offset + 1), y: $0.element.predictedCDF) }
        chart.line(observed, colour: "#444", name: "observed")
        chart.line(predicted, colour: "#d62728", name: "predicted", dashed: true)
        chart.markers(
            observed.map { ($0.x, $0.y, 3.5, "observed F = " + String.fixed($0.y, digits: 3)) }, colour: "#444")
        chart.markers(
            predicted.map { ($0.x, $0.y, 3.5, "predicted F = " + String.fixed($0.y, digits: 3)) }, colour: "#d62728")
        let table = HTML.table(
            header: ["bucket up to", "conversions", "observed F(e)", "predicted F(e)"],
            rows: fit.buckets.map {
                [
                    Self.hours($0.upperHours), "\($0.conversions)", String.fixed($0.observedCDF, digits: 3),
                    String.fixed($0.predictedCDF, digits: 3),
                ]
            })
        return Self.section(
            "delay", intro: intro + " \(fit.conversions) conversions.",
            "<div class=\"figures\">\n" + Self.figure("Delay CDF", chart.svg) + "\n" + table + "\n</div>")
    }

    static func binText(_ bin: ReliabilityDiagram.Bin) -> String {
        "predicted " + probability(bin.lower) + "–" + probability(bin.upper) + ": \(bin.rows) rows, "
            + "\(bin.positives) positives, mean predicted " + HTML.number(bin.meanPrediction, digits: 5)
            + ", observed " + HTML.number(bin.observedRate, digits: 5)
    }

    static func decileText(_ decile: ScoreDeciles.Decile) -> String {
        "decile \(decile.rank): \(decile.rows) rows, \(decile.positives) positives, PCOC "
            + HTML.number(decile.pcoc, digits: 3)
    }

    /// Probabilities down to 1e-5 with enough digits to tell bins apart.
    static func probability(_ p: Double) -> String { String.fixed(p, digits: p < 0.01 ? 5 : 4) }

    /// 1h, 6h, 24h → 1d… for the delay axis.
    static func hours(_ value: Double) -> String {
        value >= 24 && value.truncatingRemainder(dividingBy: 24) == 0
            ? "\(Int(value / 24))d" : String.fixed(value, digits: value == value.rounded() ? 0 : 1) + "h"
    }
}
