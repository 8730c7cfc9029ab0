#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Offline metrics of docs/MODELS.md §8.1, exact and deterministic.
public enum RankingMetrics {
    /// AUC = (Σ_{positives} rank − n⁺(n⁺ + 1)/2) / (n⁺ n⁻) with ranks ascending by score and ties given their
    /// average rank; nil without both classes. Labels are 0/1.
    public static func auc(scores: [Float], labels: [Float]) -> Double? {
        precondition(scores.count == labels.count)
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var positives = 0.0, rankSum = 0.0
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count, scores[order[end + 1]] == scores[order[start]] { end += 1 }
            let averageRank = Double(start + end) / 2 + 1
            for i in start...end where labels[order[i]] == 1 {
                positives += 1
                rankSum += averageRank
            }
            start = end + 1
        }
        let negatives = Double(order.count) - positives
        guard positives > 0, negatives > 0 else { return nil }
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives)
    }

    /// GAUC = Σ_g n_g AUC_g / Σ_g n_g over groups having both classes, n_g = the group's impressions (DIN).
    public static func groupAUC(scores: [Float], labels: [Float], groups: [UInt64]) -> Double? {
        var members: [UInt64: [Int]] = [:]
        for (i, group) in groups.enumerated() { members[group, default: []].append(i) }
        var weighted = 0.0, total = 0.0
        for key in members.keys.sorted() {
            let rows = members[key]!
            guard let auc = auc(scores: rows.map { scores[$0] }, labels: rows.map { labels[$0] }) else { continue }
            weighted += Double(rows.count) * auc
            total += Double(rows.count)
        }
        return total > 0 ? weighted / total : nil
    }

    /// Mean BCE with probabilities clamped to [1e-7, 1 − 1e-7].
    public static func logLoss(probabilities: [Float], labels: [Float]) -> Double? {
        guard !labels.isEmpty else { return nil }
        var total = 0.0
        for (p, y) in zip(probabilities, labels) {
            let q = LogisticMath.clamp(Double(p))
            total -= Double(y) * log(q) + (1 - Double(y)) * log(1 - q)
        }
        return total / Double(labels.count)
    }

    /// PCOC = Σ p / Σ y (predicted over observed; 1 is calibrated); nil without positives.
    public static func pcoc(probabilities: [Float], labels: [Float]) -> Double? {
        let observed = labels.reduce(0.0) { $0 + Double($1) }
        guard observed > 0 else { return nil }
        return probabilities.reduce(0.0) { $0 + Double($1) } / observed
    }
}
