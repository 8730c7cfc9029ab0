/// AUC over the last `window` (score, label) pairs: a ring buffer, recomputed on demand.
struct RunningAUC {
    private var scores: [Float]
    private var labels: [Float]
    private var next = 0
    private var filled = 0

    init(window: Int) {
        scores = [Float](repeating: 0, count: window)
        labels = [Float](repeating: 0, count: window)
    }

    mutating func append(score: Float, label: Float) {
        scores[next] = score
        labels[next] = label
        next = (next + 1) % scores.count
        filled = min(filled + 1, scores.count)
    }

    var value: Double? { RankingMetrics.auc(scores: Array(scores[0..<filled]), labels: Array(labels[0..<filled])) }
}
