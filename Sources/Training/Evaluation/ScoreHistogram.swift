#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Scores (probabilities) binned on a fine logit scale with each bin's rows, positives, prediction sum and score
/// range: constant memory (≈ 2 MiB) however many rows are added, and enough to compute the AUC, the ROC curve, the
/// reliability diagram and the score deciles (docs/TRAINING.md, "Streaming evaluation").
///
/// Bins are `binCount` equal steps of logit(p) over [−`logitBound`, `logitBound`] (width 2⁻¹¹ ≈ 0.0005 in logit,
/// at most 0.00013 in probability); scores beyond fall in the end bins (p < 1.1·10⁻⁷ or > 1 − 1.1·10⁻⁷). Binning is
/// monotone, so rows in different bins are ordered as by their scores; only pairs within one bin lose their order
/// and count ½, as exact ties do. Hence the AUC's error bound `aucErrorBound` = Σ_b n⁺_b n⁻_b / (2 n⁺ n⁻) over the
/// bins holding more than one distinct score.
public struct ScoreHistogram: Sendable {
    public static let binCount = 1 << 16
    public static let logitBound = 16.0

    /// Per bin: rows labelled positive (label 1) and the others.
    private(set) var positives: [Int]
    private(set) var negatives: [Int]
    /// Per bin: Σ p, and the lowest and highest p seen (+∞ / −∞ while empty).
    private(set) var predictionSums: [Double]
    private(set) var lowest: [Float]
    private(set) var highest: [Float]
    public private(set) var rows = 0
    public private(set) var positiveRows = 0
    /// Lowest and highest score over all rows.
    public private(set) var smallest = Float.infinity
    public private(set) var largest = -Float.infinity

    public init() {
        positives = [Int](repeating: 0, count: Self.binCount)
        negatives = positives
        predictionSums = [Double](repeating: 0, count: Self.binCount)
        lowest = [Float](repeating: .infinity, count: Self.binCount)
        highest = [Float](repeating: -.infinity, count: Self.binCount)
    }

    /// The bin of probability `p` (clamped as the log loss clamps it).
    public static func bin(_ p: Float) -> Int {
        guard !p.isNaN else { return 0 }  // a broken score ranks lowest instead of trapping the whole evaluation
        let q = LogisticMath.clamp(Double(p))
        let position = (log(q / (1 - q)) + logitBound) / (2 * logitBound) * Double(binCount)
        return min(binCount - 1, max(0, Int(position.rounded(.down))))
    }

    public mutating func add(_ p: Float, positive: Bool) {
        let b = Self.bin(p)
        if positive {
            positives[b] += 1
            positiveRows += 1
        } else {
            negatives[b] += 1
        }
        // A NaN score counts in its bin's rows (ranked lowest) but not in the sums, which stay finite for the curves.
        guard !p.isNaN else {
            rows += 1
            return
        }
        predictionSums[b] += Double(p)
        lowest[b] = min(lowest[b], p)
        highest[b] = max(highest[b], p)
        rows += 1
        smallest = min(smallest, p)
        largest = max(largest, p)
    }

    /// AUC with pairs in one bin counted ½: Σ_b n⁺_b (n⁻ below b + n⁻_b / 2) / (n⁺ n⁻); nil without both classes.
    public var auc: Double? {
        let positiveCount = Double(positiveRows), negativeCount = Double(rows - positiveRows)
        guard positiveCount > 0, negativeCount > 0 else { return nil }
        var below = 0.0, concordant = 0.0
        for b in 0..<Self.binCount {
            let n = Double(negatives[b])
            concordant += Double(positives[b]) * (below + n / 2)
            below += n
        }
        return concordant / (positiveCount * negativeCount)
    }

    /// The most `auc` can differ from the exact rank AUC of the same rows: every within-bin pair counted ½ instead
    /// of 0 or 1 (exact ties are ½ in both); nil without both classes.
    public var aucErrorBound: Double? {
        let positiveCount = Double(positiveRows), negativeCount = Double(rows - positiveRows)
        guard positiveCount > 0, negativeCount > 0 else { return nil }
        var mixedPairs = 0.0
        // A bin whose rows all have one score is an exact tie group: ½ is then the exact count.
        for b in 0..<Self.binCount where positives[b] > 0 && negatives[b] > 0 && lowest[b] < highest[b] {
            mixedPairs += Double(positives[b]) * Double(negatives[b])
        }
        return mixedPairs / (2 * positiveCount * negativeCount)
    }

    /// Makes this the histogram of every rank's rows (sharded evaluation under MPI): counts and sums added (counts
    /// are exact in a Double), score ranges widened. A collective: every rank calls it.
    mutating func reduce(over communicator: any Communicator) {
        guard communicator.size > 1 else { return }
        let n = Self.binCount
        var sums = positives.map(Double.init) + negatives.map(Double.init) + predictionSums
        sums += [Double(rows), Double(positiveRows)]
        sums.withUnsafeMutableBufferPointer { communicator.allreduceSum($0) }
        positives = sums[0..<n].map { Int($0) }
        negatives = sums[n..<2 * n].map { Int($0) }
        predictionSums = Array(sums[2 * n..<3 * n])
        (rows, positiveRows) = (Int(sums[3 * n]), Int(sums[3 * n + 1]))
        let lows = communicator.allgatherv(lowest + [smallest]), highs = communicator.allgatherv(highest + [largest])
        for b in 0...n {
            let low = lows.map { $0[b] }.min()!, high = highs.map { $0[b] }.max()!
            if b < n { (lowest[b], highest[b]) = (low, high) } else { (smallest, largest) = (low, high) }
        }
    }

    /// The non-empty bins, highest scores first, as tie groups for the curves.
    var descendingGroups: [ScoreGroup] {
        (0..<Self.binCount).reversed().compactMap { b in
            let count = positives[b] + negatives[b]
            guard count > 0 else { return nil }
            return ScoreGroup(
                rows: count, positives: positives[b], predictionSum: predictionSums[b], lowest: lowest[b],
                highest: highest[b])
        }
    }
}

/// Rows the curves treat as one block: an exact tie group (or a single row) or one histogram bin.
struct ScoreGroup {
    var rows: Int
    var positives: Int
    var predictionSum: Double
    var lowest: Float
    var highest: Float

    /// The group's mean prediction: where the reliability diagram places it.
    var meanPrediction: Double { predictionSum / Double(rows) }
}
