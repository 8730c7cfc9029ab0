import Foundation
import Ranking
import Testing

@testable import Training

/// The bounded-memory evaluation against the exact, whole-array computation it replaces (`RankingMetrics`,
/// `TaskMetrics(probabilities:labels:groups:)`, `TaskCurves(probabilities:labels:)`).
struct StreamingEvaluationTests {
    /// Scores of several shapes: CTR-like and CVR-like logit-normal ones, uniform ones, ones rounded to 1/50
    /// (many exact ties) and ones packed into a few fine bins (a large bound that must still hold).
    static func samples(count: Int, seed: UInt64) -> [(name: String, scores: [Float], labels: [Float])] {
        var random = SplitMix64(seed: seed)
        func draw(_ score: () -> Double) -> (scores: [Float], labels: [Float]) {
            var scores: [Float] = [], labels: [Float] = []
            for _ in 0..<count {
                let p = score()
                scores.append(Float(p))
                labels.append(random.nextUnit() < p ? 1 : 0)
            }
            return (scores, labels)
        }
        let shapes: [(String, () -> Double)] = [
            ("ctr-like", { LogisticMath.sigmoid(-3.2 + 0.8 * random.normal()) }),
            ("cvr-like", { LogisticMath.sigmoid(-5.5 + 1.2 * random.normal()) }),
            ("uniform", { random.nextUnit() }),
            ("ties", { (random.nextUnit() * 50).rounded() / 50 * 0.6 + 0.01 }),
            ("narrow", { 0.3 + 0.0002 * random.nextUnit() }),
        ]
        return shapes.map { name, score in
            let (scores, labels) = draw(score)
            return (name, scores, labels)
        }
    }

    static func histogram(_ scores: [Float], _ labels: [Float]) -> ScoreHistogram {
        var histogram = ScoreHistogram()
        for (p, y) in zip(scores, labels) { histogram.add(p, positive: y == 1) }
        return histogram
    }

    @Test func histogramAUCIsWithinItsStatedBoundOfTheExactAUC() throws {
        for (name, scores, labels) in Self.samples(count: 100_000, seed: 21) {
            let exact = try #require(RankingMetrics.auc(scores: scores, labels: labels))
            let histogram = Self.histogram(scores, labels)
            let auc = try #require(histogram.auc), bound = try #require(histogram.aucErrorBound)
            #expect(abs(auc - exact) <= bound + 1e-12, "\(name): \(auc) vs exact \(exact), bound \(bound)")
            if name != "narrow" { #expect(bound < 5e-4, "\(name): bound \(bound)") }
        }
        // Exact ties only (every score on 1/50): the histogram keeps each tie group in one bin, so it is exact.
        let ties = Self.samples(count: 20_000, seed: 22)[3]
        let histogram = Self.histogram(ties.scores, ties.labels)
        #expect(abs(histogram.auc! - RankingMetrics.auc(scores: ties.scores, labels: ties.labels)!) < 1e-12)
        #expect(Self.histogram([0.2, 0.4], [1, 1]).auc == nil)
        // The end bins take what lies beyond ±16 in logit, and a NaN score (which would otherwise trap).
        #expect(ScoreHistogram.bin(0) == 0 && ScoreHistogram.bin(.nan) == 0)
        #expect(ScoreHistogram.bin(1) == ScoreHistogram.binCount - 1 && ScoreHistogram.bin(0.5) == 1 << 15)
    }

    /// A NaN score (a broken model) ranks lowest and leaves every curve finite: the evaluation reports, not traps.
    @Test func aNaNScoreLeavesTheCurvesFinite() throws {
        var histogram = ScoreHistogram()
        for (p, y) in [(Float.nan, true), (0.1, false), (0.3, true), (0.05, false)] { histogram.add(p, positive: y) }
        #expect(histogram.rows == 4 && histogram.auc != nil)
        let diagram = ReliabilityDiagram(histogram: histogram)
        #expect(diagram.bins.reduce(0) { $0 + $1.rows } == 4)
        #expect(diagram.bins.allSatisfy { $0.meanPrediction?.isFinite ?? true })
        _ = try JSONEncoder().encode(diagram)  // no NaN reaches the report's JSON
    }

    @Test func runningFiguresAndGAUCEqualTheExactOnes() throws {
        for (name, scores, labels) in Self.samples(count: 30_000, seed: 23) {
            var random = SplitMix64(seed: 5)
            let groups = scores.indices.map { _ in random.next() % 700 }
            let exact = TaskMetrics(probabilities: scores, labels: labels, groups: groups)
            // In memory, and spilled to the partition files (400 rows in memory): the same GAUC.
            for memoryRows in [1 << 20, 400] {
                var accumulator = TaskAccumulator(grouped: true, groupMemoryRows: memoryRows)
                for (i, (p, y)) in zip(scores, labels).enumerated() {
                    try accumulator.add(p, label: y, group: groups[i])
                }
                let streamed = try accumulator.metrics()
                #expect(streamed.rows == exact.rows && streamed.positives == exact.positives)
                #expect(streamed.logLoss == exact.logLoss && streamed.pcoc == exact.pcoc, "\(name)")
                let gauc = try #require(streamed.gauc)
                if memoryRows > scores.count {
                    #expect(gauc == exact.gauc!, "\(name): in memory, summed in the same order")
                } else {
                    #expect(abs(gauc - exact.gauc!) < 1e-12, "\(name): spilled \(gauc) vs \(exact.gauc!)")
                }
            }
        }
    }

    @Test func curvesFromTheHistogramStayWithinTheirBounds() throws {
        for (name, scores, labels) in Self.samples(count: 50_000, seed: 24) {
            let histogram = Self.histogram(scores, labels)
            let exact = TaskCurves(probabilities: scores, labels: labels)
            let streamed = TaskCurves(histogram: histogram)
            // ROC: the histogram's area, thinned like the exact curve, from (0, 0) to (1, 1).
            #expect(abs(streamed.roc.area! - histogram.auc!) < 1e-12)
            #expect(abs(streamed.roc.area! - exact.roc.area!) <= histogram.aucErrorBound! + 1e-12, "\(name)")
            #expect(streamed.roc.points.first == ROCCurve.Point(falsePositiveRate: 0, truePositiveRate: 0))
            #expect(streamed.roc.points.last == ROCCurve.Point(falsePositiveRate: 1, truePositiveRate: 1))
            #expect(streamed.roc.points.count <= ROCCurve.defaultMaxPoints + 1)
            // Reliability: same edges; each bin's rows off by at most the rows of the fine bins at its two edges.
            #expect(streamed.reliability.bins.count == exact.reliability.bins.count)
            #expect(streamed.reliability.bins.map(\.rows).reduce(0, +) == scores.count)
            for (s, e) in zip(streamed.reliability.bins, exact.reliability.bins) {
                #expect(s.lower == e.lower && s.upper == e.upper)
                let slack = Self.rowsNear(s.lower, histogram) + Self.rowsNear(s.upper, histogram)
                #expect(abs(s.rows - e.rows) <= slack, "\(name): bin \(s.lower)…\(s.upper) \(s.rows) vs \(e.rows)")
            }
            // Deciles: the same rows per decile; positives off by at most those of the boundary bins (+1 rounding).
            #expect(streamed.deciles.deciles.map(\.rows) == exact.deciles.deciles.map(\.rows))
            for (s, e) in zip(streamed.deciles.deciles, exact.deciles.deciles) {
                let slack = Self.positivesNear(e.lowestScore, histogram) + Self.positivesNear(e.highestScore, histogram)
                #expect(abs(s.positives - e.positives) <= slack + 1, "\(name): decile \(s.rank)")
                #expect(abs(s.highestScore - e.highestScore) < 2e-4 && abs(s.lowestScore - e.lowestScore) < 2e-4)
            }
        }
    }

    /// Rows (or positives) in the fine bins around probability `p`.
    static func rowsNear(_ p: Double, _ histogram: ScoreHistogram) -> Int {
        neighbourhood(p).reduce(0) { $0 + histogram.positives[$1] + histogram.negatives[$1] }
    }

    static func positivesNear(_ p: Double, _ histogram: ScoreHistogram) -> Int {
        neighbourhood(p).reduce(0) { $0 + histogram.positives[$1] }
    }

    static func neighbourhood(_ p: Double) -> ClosedRange<Int> {
        let b = ScoreHistogram.bin(Float(p))
        return max(0, b - 1)...min(ScoreHistogram.binCount - 1, b + 1)
    }

    /// The evaluator on the small simulated world against the whole-array computation on the same predictions:
    /// the printed table is the same, AUCs within their bounds, the other figures equal.
    @Test func evaluatorMatchesTheExactComputationOnASimulatedWorld() throws {
        let (directory, schema) = TestSupport.smallWorld
        let trainer = try Trainer(schema: schema, configuration: TestSupport.smallConfiguration(.esmm), threads: 1)
        _ = try trainer.train(file: directory + "/train.csv")
        let file = directory + "/test.csv", truthFile = directory + "/test_truth.csv"
        var evaluator = Evaluator(schema: schema)
        evaluator.groupMemoryRows = 1_000  // the test file's 8,000 rows spill to the partition files
        let predictions = TestSupport.temporaryDirectory("predictions") + "/predictions.csv"
        let streamed = try evaluator.evaluate(
            trainer.predictor, file: file, truthFile: truthFile, predictionsFile: predictions)
        try Self.expectPredictions(in: predictions, agreeWith: streamed)
        let exact = try ExactEvaluation(predictor: trainer.predictor, schema: schema, file: file, truthFile: truthFile)
        // The printed table: every figure as before, but an AUC may round the other way when the exact one lies
        // within its bound of a rounding boundary (the last digit then differs by one).
        var printed = exact.report
        for task in [\EvaluationReport.ctr, \.cvr, \.ctcvr] {
            let (e, bound) = (exact.report[keyPath: task].auc!, streamed[keyPath: task].aucErrorBound!)
            if String.fixed(e - bound, digits: 4) != String.fixed(e + bound, digits: 4) {
                printed[keyPath: task].auc = streamed[keyPath: task].auc
            }
        }
        let (e, bound) = (exact.report.entireSpaceCVR!.auc!, streamed.entireSpaceCVR!.aucErrorBound!)
        if String.fixed(e - bound, digits: 4) != String.fixed(e + bound, digits: 4) {
            printed.entireSpaceCVR!.auc = streamed.entireSpaceCVR!.auc
        }
        #expect(streamed.table == printed.table)
        let tasks: [(TaskMetrics, TaskMetrics, ScoreHistogram)] = [
            (streamed.ctr, exact.report.ctr, exact.histograms[0]),
            (streamed.cvr, exact.report.cvr, exact.histograms[1]),
            (streamed.ctcvr, exact.report.ctcvr, exact.histograms[2]),
            (streamed.entireSpaceCVR!, exact.report.entireSpaceCVR!, exact.histograms[3]),
        ]
        for (s, e, histogram) in tasks {
            #expect(s.rows == e.rows && s.positives == e.positives && s.logLoss == e.logLoss && s.pcoc == e.pcoc)
            #expect(abs(s.auc! - e.auc!) <= histogram.aucErrorBound! + 1e-12)
            #expect(s.aucErrorBound! == histogram.aucErrorBound! && s.aucErrorBound! < 1e-3)
            if let gauc = e.gauc { #expect(abs(s.gauc! - gauc) < 1e-12) }
        }
        #expect(streamed.entireSpaceCVRCalibration == exact.report.entireSpaceCVRCalibration)
    }

    /// `--predictions`: one line per row, labels and predictions that add up to the report's counts and sums.
    static func expectPredictions(in path: String, agreeWith report: EvaluationReport) throws {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.first.map(String.init) == Evaluator.predictionsHeader && lines.count == report.rows + 1)
        var clicks = 0, finalRows = 0, finalConversions = 0, sumCTR = 0.0, sumCTCVR = 0.0
        for line in lines.dropFirst() {
            let cells = line.split(separator: ",")
            let (click, conversion, final) = (Int(cells[0])!, Int(cells[1])!, Int(cells[2])!)
            let (pc, pv, pcv) = (Float(cells[3])!, Float(cells[4])!, Float(cells[5])!)
            #expect(pcv == pc * pv)
            clicks += click
            sumCTR += Double(pc)
            if final == 1 {
                finalRows += 1
                finalConversions += conversion
                sumCTCVR += Double(pcv)
            }
        }
        #expect(clicks == report.ctr.positives && finalRows == report.ctcvr.rows)
        #expect(finalConversions == report.ctcvr.positives)
        #expect(abs(sumCTR / Double(clicks) - report.ctr.pcoc!) < 1e-4)
        #expect(abs(sumCTCVR / Double(finalConversions) - report.ctcvr.pcoc!) < 1e-4)
    }

    @Test func aShortTruthFileFails() throws {
        let (directory, schema) = TestSupport.smallWorld
        let trainer = try Trainer(schema: schema, configuration: TestSupport.smallConfiguration(.esmm), threads: 1)
        let lines = try String(contentsOfFile: directory + "/test_truth.csv", encoding: .utf8).split(separator: "\n")
        let short = TestSupport.temporaryDirectory("short-truth") + "/truth.csv"
        try TestSupport.write(lines.prefix(100).joined(separator: "\n") + "\n", to: short)
        #expect(throws: DataError.self) {
            try Evaluator(schema: schema).evaluate(trainer.predictor, file: directory + "/test.csv", truthFile: short)
        }
    }
}

/// What `Evaluator` computed before it streamed: every prediction and label kept, exact metrics on the arrays.
struct ExactEvaluation {
    var report: EvaluationReport
    /// Histograms of the same rows (CTR, CVR, CTCVR, entire-space CVR), for their AUC error bounds.
    var histograms: [ScoreHistogram]

    init(predictor: any ConversionPredictor, schema: TrainingSchema, file: String, truthFile: String) throws {
        let data = try TrainingDataReader.readAll(path: file, schema: schema)
        let rows = Array(0..<data.count)
        var ctr = [Float](repeating: 0, count: data.count), cvr = ctr
        predictor.predict(data, rows: rows, ctr: &ctr, cvr: &cvr)
        let window = schema.delay.attributionWindowHours
        let mature = rows.map { data.windowElapsed($0, window: window) }
        let clicked = rows.filter { data.click[$0] == 1 && mature[$0] }
        let final = rows.filter { data.click[$0] == 0 || mature[$0] }
        let groups = rows.map { data.userKey[$0] }
        let click = rows.map { data.click[$0] }, conversion = rows.map { data.conversion[$0] }
        let truth = try SimulationTruth.read(path: truthFile, rows: data.count)
        let tasks: [(scores: [Float], labels: [Float], groups: [UInt64]?)] = [
            (ctr, click, groups), (clicked.map { cvr[$0] }, clicked.map { conversion[$0] }, clicked.map { groups[$0] }),
            (final.map { ctr[$0] * cvr[$0] }, final.map { conversion[$0] }, final.map { groups[$0] }),
            (cvr, truth.wouldBuy, nil),
        ]
        let metrics = tasks.map { TaskMetrics(probabilities: $0.scores, labels: $0.labels, groups: $0.groups) }
        report = EvaluationReport(
            file: file, rows: data.count, groupedBy: "user", ctr: metrics[0], cvr: metrics[1], ctcvr: metrics[2])
        report.entireSpaceCVR = metrics[3]
        let trueTotal = truth.trueCVR.reduce(0.0) { $0 + Double($1) }
        report.entireSpaceCVRCalibration = cvr.reduce(0.0) { $0 + Double($1) } / trueTotal
        histograms = tasks.map { StreamingEvaluationTests.histogram($0.scores, $0.labels) }
    }
}
