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
        let n = order.count
        deciles = (0..<10).compactMap { d in
            let part = order[d * n / 10..<(d + 1) * n / 10]
            guard !part.isEmpty else { return nil }
            var predicted = 0.0, positives = 0
            for row in part {
                predicted += Double(probabilities[row])
                positives += labels[row] == 1 ? 1 : 0
            }
            return Decile(
                rank: d + 1, rows: part.count, positives: positives,
                lowestScore: Double(probabilities[part.last!]), highestScore: Double(probabilities[part.first!]),
                meanPrediction: predicted / Double(part.count), observedRate: Double(positives) / Double(part.count),
                pcoc: positives > 0 ? predicted / Double(positives) : nil)
        }
    }
}

/// Row indices by descending score, ties by row index: one deterministic order for the curves that need one.
enum ScoreOrder {
    static func descending(_ scores: [Float]) -> [Int] {
        scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    }
}
