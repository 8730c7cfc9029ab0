/// One task's curves on one evaluation set: what the report draws besides the `TaskMetrics` table.
public struct TaskCurves: Codable, Sendable, Equatable {
    public var reliability: ReliabilityDiagram
    public var deciles: ScoreDeciles
    public var roc: ROCCurve

    public init(probabilities: [Float], labels: [Float]) {
        // One sort serves the deciles and the ROC curve.
        let order = ScoreOrder.descending(probabilities)
        reliability = ReliabilityDiagram(probabilities: probabilities, labels: labels)
        deciles = ScoreDeciles(probabilities: probabilities, labels: labels, descending: order)
        roc = ROCCurve(scores: probabilities, labels: labels, descending: order)
    }

    /// From one task's `ScoreHistogram` (streaming evaluation; each curve states its error).
    public init(histogram: ScoreHistogram) {
        reliability = ReliabilityDiagram(histogram: histogram)
        deciles = ScoreDeciles(histogram: histogram)
        roc = ROCCurve(histogram: histogram)
    }
}

/// The curves of every task of an `EvaluationReport`, on the same rows as its metrics.
public struct EvaluationCurves: Codable, Sendable, Equatable {
    public var ctr: TaskCurves
    public var cvr: TaskCurves
    public var ctcvr: TaskCurves
    /// p_v against would_buy over all impressions (simulated data only).
    public var entireSpaceCVR: TaskCurves?

    private enum CodingKeys: String, CodingKey {
        case ctr, cvr, ctcvr
        case entireSpaceCVR = "entire_space_cvr"
    }
}
