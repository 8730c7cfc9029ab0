/// Rows split into ten equal parts by descending score (decile 1 holds the highest scores), with each part's
/// mean prediction, observed rate and PCOC: where in the ranking a model over- or under-predicts. Ties are split
/// by row order, so the parts differ in size by at most one row.
public struct ScoreDeciles: Codable, Sendable, Equatable {
    public struct Decile: Codable, Sendable, Equatable {
        /// 1 (highest scores) … 10 (lowest).
        public var rank: Int
        public var rows: Int
        public var positives: Int
        /// Score range of the decile.
        public var lowestScore: Double
        public var highestScore: Double
        public var meanPrediction: Double
        public var observedRate: Double
        /// Σ p / Σ y (nil without positives).
        public var pcoc: Double?

        private enum CodingKeys: String, CodingKey {
            case rank, rows, positives, pcoc
            case lowestScore = "lowest_score"
            case highestScore = "highest_score"
            case meanPrediction = "mean_prediction"
            case observedRate = "observed_rate"
        }
    }

    /// Non-empty deciles only (fewer than ten rows leave some empty).
    public var deciles: [Decile]

    public init(probabilities: [Float], labels: [Float]) {
        self.init(probabilities: probabilities, labels: labels, descending: ScoreOrder.descending(probabilities))
    }

    /// With the rows already ordered by descending score (shared with the ROC curve).
    init(probabilities: [Float], labels: [Float], descending order: [Int]) {
        precondition(probabilities.count == labels.count && order.count == labels.count)
        let rows = order.map { row in
            let p = probabilities[row]
            return ScoreGroup(
                rows: 1, positives: labels[row] == 1 ? 1 : 0, predictionSum: Double(p), lowest: p, highest: p)
        }
        self.init(descendingGroups: rows)
    }

    /// From a `ScoreHistogram`: the decile boundaries (row counts n·d/10) fall inside fine bins, whose rows are then
    /// shared between the two deciles in proportion, positives and prediction sums alike; a decile's positives can
    /// differ from the exact split's by at most the positives of the bins at its two boundaries, and its score range
    /// by the width of those bins (< 0.00013 in probability).
    public init(histogram: ScoreHistogram) {
        self.init(descendingGroups: histogram.descendingGroups)
    }

    /// Groups of rows by descending score (rows alone, or histogram bins), cut at rows n·d/10.
    init(descendingGroups groups: [ScoreGroup]) {
        let n = groups.reduce(0) { $0 + $1.rows }
        var parts: [Decile] = []
        var groupIndex = 0, usedOfGroup = 0
        // Positives are rounded cumulatively, so the deciles' counts add up to the rows' positives.
        var positivesBefore = 0.0
        for d in 0..<10 {
            let size = (d + 1) * n / 10 - d * n / 10
            guard size > 0 else { continue }
            var remaining = size, predicted = 0.0, positives = 0.0
            var highest = -Float.infinity, lowest = Float.infinity
            while remaining > 0 {
                let group = groups[groupIndex]
                let taken = min(remaining, group.rows - usedOfGroup)
                let share = Double(taken) / Double(group.rows)
                predicted += taken == group.rows ? group.predictionSum : group.predictionSum * share
                positives += taken == group.rows ? Double(group.positives) : Double(group.positives) * share
                highest = max(highest, group.highest)
                lowest = min(lowest, group.lowest)
                remaining -= taken
                usedOfGroup += taken
                if usedOfGroup == group.rows {
                    groupIndex += 1
                    usedOfGroup = 0
                }
            }
            let positiveCount = Int((positivesBefore + positives).rounded()) - Int(positivesBefore.rounded())
            positivesBefore += positives
            parts.append(
                Decile(
                    rank: d + 1, rows: size, positives: positiveCount, lowestScore: Double(lowest),
                    highestScore: Double(highest), meanPrediction: predicted / Double(size),
                    observedRate: positives / Double(size), pcoc: positives > 0 ? predicted / positives : nil))
        }
        deciles = parts
    }
}

/// Row indices by descending score, ties by row index: one deterministic order for the curves that need one.
enum ScoreOrder {
    static func descending(_ scores: [Float]) -> [Int] {
        scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    }
}
