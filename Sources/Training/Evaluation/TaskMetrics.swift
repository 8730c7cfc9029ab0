/// One task's figures on one evaluation set (nil where undefined, e.g. AUC without both classes).
public struct TaskMetrics: Codable, Sendable, Equatable {
    public var rows: Int
    public var positives: Int
    public var auc: Double?
    /// How far `auc` may be from the exact rank AUC: 0 when computed exactly, `ScoreHistogram.aucErrorBound` when
    /// streamed (`Evaluator`); nil without both classes.
    public var aucErrorBound: Double?
    public var gauc: Double?
    public var logLoss: Double?
    public var pcoc: Double?

    public init(probabilities: [Float], labels: [Float], groups: [UInt64]? = nil) {
        rows = labels.count
        positives = labels.reduce(0) { $0 + ($1 == 1 ? 1 : 0) }
        auc = RankingMetrics.auc(scores: probabilities, labels: labels)
        aucErrorBound = auc.map { _ in 0 }
        gauc = groups.flatMap { RankingMetrics.groupAUC(scores: probabilities, labels: labels, groups: $0) }
        logLoss = RankingMetrics.logLoss(probabilities: probabilities, labels: labels)
        pcoc = RankingMetrics.pcoc(probabilities: probabilities, labels: labels)
    }

    init(
        rows: Int, positives: Int, auc: Double?, aucErrorBound: Double?, gauc: Double?, logLoss: Double?, pcoc: Double?
    ) {
        self.rows = rows
        self.positives = positives
        self.auc = auc
        self.aucErrorBound = aucErrorBound
        self.gauc = gauc
        self.logLoss = logLoss
        self.pcoc = pcoc
    }

    private enum CodingKeys: String, CodingKey {
        case rows, positives, auc, gauc, pcoc
        case logLoss = "logloss"
        case aucErrorBound = "auc_error_bound"
    }
}
