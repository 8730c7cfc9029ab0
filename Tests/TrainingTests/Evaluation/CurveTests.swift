import Foundation
import Ranking
import Testing

@testable import Training

/// The report's curves: reliability bins, ROC points and area, score deciles, the delay fit.
struct CurveTests {
    /// Scores with ties (rounded to 1/50) and labels drawn with probability = score, so there is signal.
    static func sample(count: Int, seed: UInt64) -> (scores: [Float], labels: [Float]) {
        var random = SplitMix64(seed: seed)
        var scores: [Float] = [], labels: [Float] = []
        for _ in 0..<count {
            let p = (random.nextUnit() * 50).rounded() / 50 * 0.6 + 0.01
            scores.append(Float(p))
            labels.append(random.nextUnit() < p ? 1 : 0)
        }
        return (scores, labels)
    }

    @Test func reliabilityBinsCoverEveryRowOnce() {
        let (scores, labels) = Self.sample(count: 5_000, seed: 1)
        let diagram = ReliabilityDiagram(probabilities: scores, labels: labels)
        #expect(diagram.bins.count == ReliabilityDiagram.defaultBinCount)
        #expect(diagram.bins.map(\.rows).reduce(0, +) == scores.count)
        #expect(diagram.bins.map(\.positives).reduce(0, +) == Int(labels.reduce(0, +)))
        #expect(abs(diagram.bins.first!.lower - Double(scores.min()!)) < 1e-6)
        #expect(abs(diagram.bins.last!.upper - Double(scores.max()!)) < 1e-6)
        for (bin, next) in zip(diagram.bins, diagram.bins.dropFirst()) {
            #expect(abs(bin.upper - next.lower) < 1e-12)
        }
        for bin in diagram.bins where bin.rows > 0 {
            #expect(bin.meanPrediction! >= bin.lower - 1e-6 && bin.meanPrediction! <= bin.upper + 1e-6)
            #expect(bin.observedRate! == Double(bin.positives) / Double(bin.rows))
        }
        // The sample is calibrated by construction: observed rates follow the predictions in well-filled bins.
        for bin in diagram.bins where bin.rows > 400 {
            #expect(abs(bin.observedRate! - bin.meanPrediction!) < 0.08, "\(bin)")
        }
        let constant = ReliabilityDiagram(probabilities: [0.2, 0.2, 0.2], labels: [1, 0, 0])
        #expect(constant.bins.count == 1 && constant.bins[0].rows == 3 && constant.bins[0].positives == 1)
        #expect(ReliabilityDiagram(probabilities: [], labels: []).bins.isEmpty)
    }

    @Test func rocRunsFromOriginToOneOneWithTheEvaluatorsArea() throws {
        let (scores, labels) = Self.sample(count: 20_000, seed: 2)
        let roc = ROCCurve(scores: scores, labels: labels)
        let auc = try #require(RankingMetrics.auc(scores: scores, labels: labels))
        #expect(roc.points.first == ROCCurve.Point(falsePositiveRate: 0, truePositiveRate: 0))
        #expect(roc.points.last == ROCCurve.Point(falsePositiveRate: 1, truePositiveRate: 1))
        #expect(abs(roc.area! - auc) < 1e-12, "area \(roc.area!) vs AUC \(auc)")
        for (a, b) in zip(roc.points, roc.points.dropFirst()) {
            #expect(a.falsePositiveRate <= b.falsePositiveRate && a.truePositiveRate <= b.truePositiveRate)
        }
        // Known small case: AUC 3/4 (MetricsTests) and its curve.
        let small = ROCCurve(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1])
        #expect(small.area == 0.75)
        #expect(
            small.points.map { [$0.falsePositiveRate, $0.truePositiveRate] } == [
                [0, 0], [0, 0.5], [0.5, 0.5], [0.5, 1], [1, 1],
            ])
        #expect(ROCCurve(scores: [0.3, 0.6], labels: [1, 1]).points.isEmpty)
        #expect(ROCCurve(scores: [0.3, 0.6], labels: [1, 1]).area == nil)
    }

    /// On a large set with distinct scores the stored curve is thinned to the bound, and still traces the same area.
    @Test func rocPointsAreBoundedOnLargeSets() {
        var random = SplitMix64(seed: 3)
        var scores: [Float] = [], labels: [Float] = []
        for _ in 0..<200_000 {
            let score = Float(random.nextUnit())
            scores.append(score)
            labels.append(random.nextUnit() < Double(score) ? 1 : 0)
        }
        let roc = ROCCurve(scores: scores, labels: labels, maxPoints: 100)
        #expect(roc.points.count <= 101 && roc.points.count > 50)
        #expect(roc.points.last == ROCCurve.Point(falsePositiveRate: 1, truePositiveRate: 1))
        var thinnedArea = 0.0
        for (a, b) in zip(roc.points, roc.points.dropFirst()) {
            thinnedArea += (b.falsePositiveRate - a.falsePositiveRate) * (a.truePositiveRate + b.truePositiveRate) / 2
        }
        #expect(abs(thinnedArea - roc.area!) < 2e-3, "thinned \(thinnedArea) vs full \(roc.area!)")
    }

    @Test func decilesSplitByDescendingScore() throws {
        // Scores 0.00 … 0.99; positives: every row of the top decile, none elsewhere except row 5.
        let scores = (0..<100).map { Float($0) / 100 }
        var labels = (0..<100).map { Float($0 >= 90 ? 1 : 0) }
        labels[5] = 1
        let deciles = ScoreDeciles(probabilities: scores, labels: labels).deciles
        #expect(deciles.count == 10 && deciles.allSatisfy { $0.rows == 10 })
        #expect(deciles.map(\.rank) == Array(1...10))
        let top = deciles[0], bottom = deciles[9]
        #expect(abs(top.highestScore - 0.99) < 1e-6 && abs(top.lowestScore - 0.90) < 1e-6)
        #expect(top.positives == 10 && abs(top.pcoc! - 0.945) < 1e-6 && top.observedRate == 1)
        #expect(bottom.positives == 1 && abs(bottom.pcoc! - 0.45) < 1e-6)
        #expect(deciles[4].pcoc == nil && deciles[4].positives == 0)
        // Fewer than ten rows: only non-empty parts, still every row once.
        let few = ScoreDeciles(probabilities: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], labels: [0, 1, 0, 1, 0, 1, 0])
        #expect(few.deciles.map(\.rows).reduce(0, +) == 7 && few.deciles.count == 7)
        #expect(few.deciles.first!.highestScore > few.deciles.last!.highestScore)
    }

    /// With every hazard logit 0, h_k = ½ (the last bucket's is 1), so the predicted CDF is 1 − ½^(k+1), then 1.
    @Test func delayFitComparesObservedAndPredictedCDFs() throws {
        let data = NetworkGradientTests.makeData()
        let delay = TestSupport.schema.delay
        var accumulator = DelayFit.Accumulator(delay: delay)
        let rows = accumulator.selected(data)
        try #require(!rows.isEmpty)
        for row in rows {
            #expect(data.conversion[row] == 1 && data.delayBucket[row] >= 0)
            #expect(data.windowElapsed(row, window: delay.attributionWindowHours))
        }
        accumulator.add(data, rows: rows, hazardLogits: [Float](repeating: 0, count: rows.count * delay.count))
        let fit = accumulator.result
        #expect(fit.conversions == rows.count)
        #expect(fit.buckets.map(\.conversions).reduce(0, +) == rows.count)
        for (k, bucket) in fit.buckets.enumerated() {
            let expected = k == delay.count - 1 ? 1 : 1 - pow(0.5, Double(k + 1))
            #expect(abs(bucket.predictedCDF - expected) < 1e-12)
            let observed = rows.filter { data.delayBucket[$0] <= k }.count
            #expect(bucket.observedCDF == Double(observed) / Double(rows.count))
            #expect(bucket.upperHours == delay.boundsHours[k])
        }
        #expect(fit.buckets.last!.observedCDF == 1)
        #expect(DelayFit.Accumulator(delay: delay).result == DelayFit(buckets: [], conversions: 0))
    }

    /// The evaluator's curves are computed on the rows of its metrics, and the ROC area is its AUC; a delay model's
    /// evaluation carries the fit of its delay tower.
    @Test func evaluatorCurvesMatchItsMetrics() throws {
        let (directory, schema) = TestSupport.smallWorld
        let trainer = try Trainer(schema: schema, configuration: TestSupport.smallConfiguration(.esdc, delay: .model))
        let delay = try #require(trainer.delayPredictor)
        let report = try Evaluator(schema: schema).evaluate(
            trainer.predictor, file: directory + "/test.csv", truthFile: directory + "/test_truth.csv", delay: delay)
        let curves = try #require(report.curves)
        let pairs = [
            (report.ctr, curves.ctr), (report.cvr, curves.cvr), (report.ctcvr, curves.ctcvr),
            (report.entireSpaceCVR!, curves.entireSpaceCVR!),
        ]
        for (metrics, task) in pairs {
            #expect(task.reliability.bins.map(\.rows).reduce(0, +) == metrics.rows)
            #expect(task.deciles.deciles.map(\.rows).reduce(0, +) == metrics.rows)
            #expect(task.deciles.deciles.map(\.positives).reduce(0, +) == metrics.positives)
            #expect(abs(task.roc.area! - metrics.auc!) < 1e-9)
            #expect(task.roc.points.count <= ROCCurve.defaultMaxPoints + 1)
        }
        let fit = try #require(report.delayFit)
        #expect(fit.conversions > 0 && fit.buckets.count == schema.delay.count)
        #expect(fit.buckets.last!.observedCDF == 1 && abs(fit.buckets.last!.predictedCDF - 1) < 1e-9)
        let esmm = try Trainer(schema: schema, configuration: TestSupport.smallConfiguration(.esmm))
        #expect(esmm.delayPredictor == nil)
        // The JSON report carries the curves (and reads back).
        let decoded = try JSONDecoder().decode(EvaluationReport.self, from: Data(try report.json().utf8))
        #expect(decoded.curves == report.curves && decoded.delayFit == report.delayFit)
    }
}
