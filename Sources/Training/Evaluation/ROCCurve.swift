/// The ROC curve: (false-positive rate, true-positive rate) as the threshold falls through the scores, from
/// (0, 0) to (1, 1). Tied scores move both rates at once (a diagonal step), so the area under the full curve is
/// the rank AUC with ties counted ½ (`RankingMetrics.auc`). The stored points are thinned to at most
/// `maxPoints` + 1 so a report stays small on large test sets; `area` is that of the full curve.
public struct ROCCurve: Codable, Sendable, Equatable {
    public struct Point: Codable, Sendable, Equatable {
        public var falsePositiveRate: Double
        public var truePositiveRate: Double

        public init(falsePositiveRate: Double, truePositiveRate: Double) {
            self.falsePositiveRate = falsePositiveRate
            self.truePositiveRate = truePositiveRate
        }

        private enum CodingKeys: String, CodingKey {
            case falsePositiveRate = "fpr"
            case truePositiveRate = "tpr"
        }
    }

    /// Empty without both classes.
    public var points: [Point]
    /// Trapezoidal area under the full curve (nil without both classes).
    public var area: Double?

    public static let defaultMaxPoints = 200

    public init(scores: [Float], labels: [Float], maxPoints: Int = defaultMaxPoints) {
        self.init(scores: scores, labels: labels, descending: ScoreOrder.descending(scores), maxPoints: maxPoints)
    }

    init(scores: [Float], labels: [Float], descending order: [Int], maxPoints: Int = defaultMaxPoints) {
        precondition(scores.count == labels.count)
        var groups: [ScoreGroup] = []
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count, scores[order[end + 1]] == scores[order[start]] { end += 1 }
            let positives = (start...end).count { labels[order[$0]] == 1 }
            let score = scores[order[start]]
            groups.append(
                ScoreGroup(rows: end - start + 1, positives: positives, predictionSum: 0, lowest: score, highest: score)
            )
            start = end + 1
        }
        self.init(descendingGroups: groups, maxPoints: maxPoints)
    }

    /// From a `ScoreHistogram`: one vertex per non-empty bin (a diagonal step, as for tied scores), so every vertex
    /// lies on the exact curve and `area` is the histogram's AUC.
    public init(histogram: ScoreHistogram, maxPoints: Int = defaultMaxPoints) {
        self.init(descendingGroups: histogram.descendingGroups, maxPoints: maxPoints)
    }

    /// Tie groups ordered by descending score.
    init(descendingGroups groups: [ScoreGroup], maxPoints: Int) {
        precondition(maxPoints >= 2)
        let positives = Double(groups.reduce(0) { $0 + $1.positives })
        let negatives = Double(groups.reduce(0) { $0 + $1.rows }) - positives
        guard positives > 0, negatives > 0 else {
            points = []
            area = nil
            return
        }
        var kept = [Point(falsePositiveRate: 0, truePositiveRate: 0)]
        var truePositives = 0.0, falsePositives = 0.0, area = 0.0
        var previous = kept[0]
        // Thinning: keep a vertex each time fpr + tpr (which grows from 0 to 2 along the curve) enters a new
        // 2 / maxPoints step, so no dropped stretch is longer than that in either rate.
        var lastStep = 0
        for (index, group) in groups.enumerated() {
            truePositives += Double(group.positives)
            falsePositives += Double(group.rows - group.positives)
            let point = Point(
                falsePositiveRate: falsePositives / negatives, truePositiveRate: truePositives / positives)
            area +=
                (point.falsePositiveRate - previous.falsePositiveRate)
                * (point.truePositiveRate + previous.truePositiveRate) / 2
            previous = point
            let step = Int((point.falsePositiveRate + point.truePositiveRate) * Double(maxPoints) / 2)
            if step > lastStep || index == groups.count - 1 {
                kept.append(point)
                lastStep = step
            }
        }
        points = kept
        self.area = area
    }
}
