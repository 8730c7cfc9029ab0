#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One task's evaluation built row by row in bounded memory: the log loss and PCOC as running sums (in row order,
/// so equal to `RankingMetrics`' to the last bit), the AUC and every curve from one `ScoreHistogram`, the GAUC from
/// a `GroupAUCAccumulator` (exact, spilling to disk past its memory budget).
struct TaskAccumulator {
    private(set) var histogram = ScoreHistogram()
    private var groups: GroupAUCAccumulator?
    private var lossSum = 0.0, predictionSum = 0.0, labelSum = 0.0

    /// `grouped`: whether rows come with a group for the GAUC; `groupMemoryRows`: its in-memory budget.
    init(grouped: Bool, groupMemoryRows: Int = 1 << 18) {
        groups = grouped ? GroupAUCAccumulator(memoryRows: groupMemoryRows) : nil
    }

    mutating func add(_ p: Float, label y: Float, group: UInt64 = 0) throws(DataError) {
        histogram.add(p, positive: y == 1)
        try groups?.add(group: group, score: p, positive: y == 1)
        let q = LogisticMath.clamp(Double(p))
        lossSum -= Double(y) * log(q) + (1 - Double(y)) * log(1 - q)
        predictionSum += Double(p)
        labelSum += Double(y)
    }

    /// The figures of `TaskMetrics`, the AUC from the histogram (within `histogram.aucErrorBound` of the exact one).
    /// Under MPI (sharded evaluation, each rank's groups its own) the histogram, the sums and the GAUC's sums are
    /// first added over the ranks, and `curves` is then every rank's too. A collective: every rank calls it.
    mutating func metrics(over communicator: any Communicator = SingleProcessCommunicator()) throws(DataError)
        -> TaskMetrics
    {
        histogram.reduce(over: communicator)
        let sums = communicator.sum([lossSum, predictionSum, labelSum])
        (lossSum, predictionSum, labelSum) = (sums[0], sums[1], sums[2])
        var gauc: Double?
        if var groups {
            let local = try groups.finishSums()
            let total = communicator.sum([local.weighted, local.total])
            gauc = total[1] > 0 ? total[0] / total[1] : nil
            self.groups = groups
        }
        let rows = histogram.rows
        return TaskMetrics(
            rows: rows, positives: histogram.positiveRows, auc: histogram.auc,
            aucErrorBound: histogram.aucErrorBound, gauc: gauc,
            logLoss: rows > 0 ? lossSum / Double(rows) : nil, pcoc: labelSum > 0 ? predictionSum / labelSum : nil)
    }

    var curves: TaskCurves { TaskCurves(histogram: histogram) }
}
