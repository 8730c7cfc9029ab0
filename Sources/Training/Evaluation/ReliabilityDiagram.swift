#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A reliability (calibration) diagram: rows binned by predicted probability, each bin's mean prediction against
/// its observed rate. Bins are equal in width on the logit scale across the scores' range, so the low rates of
/// CVR and CTCVR get as many bins as CTR's; every row falls in exactly one bin, so the counts sum to the rows.
public struct ReliabilityDiagram: Codable, Sendable, Equatable {
    public struct Bin: Codable, Sendable, Equatable {
        /// Probability range of the bin (the last bin includes its upper bound).
        public var lower: Double
        public var upper: Double
        public var rows: Int
        public var positives: Int
        /// Mean predicted probability and observed positive rate of the bin's rows (nil when it has none).
        public var meanPrediction: Double?
        public var observedRate: Double?

        private enum CodingKeys: String, CodingKey {
            case lower, upper, rows, positives
            case meanPrediction = "mean_prediction"
            case observedRate = "observed_rate"
        }
    }

    public var bins: [Bin]

    public static let defaultBinCount = 20

    public init(probabilities: [Float], labels: [Float], binCount: Int = defaultBinCount) {
        precondition(probabilities.count == labels.count)
        let rows = zip(probabilities, labels).map { p, y in
            ScoreGroup(rows: 1, positives: y == 1 ? 1 : 0, predictionSum: Double(p), lowest: p, highest: p)
        }
        self.init(
            groups: rows, smallest: probabilities.min(), largest: probabilities.max(), binCount: binCount)
    }

    /// From a `ScoreHistogram`: each fine bin goes whole into the bin of its mean prediction, so a bin's rows can
    /// differ from the exact diagram's only by the rows of the fine bins its two edges cut (0.0005 wide in logit);
    /// means and rates are computed from the exact sums.
    public init(histogram: ScoreHistogram, binCount: Int = defaultBinCount) {
        self.init(
            groups: histogram.descendingGroups.reversed(), smallest: histogram.rows > 0 ? histogram.smallest : nil,
            largest: histogram.rows > 0 ? histogram.largest : nil, binCount: binCount)
    }

    /// Groups of rows in ascending score order (rows alone, or histogram bins), placed by their mean prediction.
    init(groups: [ScoreGroup], smallest: Float?, largest: Float?, binCount: Int) {
        precondition(binCount > 0)
        guard let smallest, let largest else {
            bins = []
            return
        }
        let low = Self.logit(Double(smallest)), high = Self.logit(Double(largest))
        // All scores equal: one bin holds them all.
        let count = high > low ? binCount : 1
        let width = (high - low) / Double(count)
        var rows = [Int](repeating: 0, count: count), positives = rows
        var predictionSums = [Double](repeating: 0, count: count)
        for group in groups {
            let position = (Self.logit(group.meanPrediction) - low) / width
            let bin = width > 0 && position.isFinite ? min(count - 1, max(0, Int(position))) : 0
            rows[bin] += group.rows
            positives[bin] += group.positives
            predictionSums[bin] += group.predictionSum
        }
        bins = (0..<count).map { b in
            let n = rows[b]
            return Bin(
                lower: LogisticMath.sigmoid(low + Double(b) * width),
                upper: LogisticMath.sigmoid(b == count - 1 ? high : low + Double(b + 1) * width), rows: n,
                positives: positives[b], meanPrediction: n > 0 ? predictionSums[b] / Double(n) : nil,
                observedRate: n > 0 ? Double(positives[b]) / Double(n) : nil)
        }
    }

    /// log(p / (1 − p)) with p clamped away from 0 and 1, so certain scores stay finite.
    private static func logit(_ p: Double) -> Double {
        let q = LogisticMath.clamp(p)
        return log(q / (1 - q))
    }
}
