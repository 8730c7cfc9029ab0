/// The batch-wide sums the student's losses divide by. A single process takes them from its batch; under MPI the
/// trainer sums them over the ranks first, so that each rank's gradient is its part of the global batch's mean, and
/// terms normalised by the batch's clicks, conversions or distillation weights (not only by its rows) match the
/// single process's too.
struct BatchTotals: Equatable {
    var rows = 0.0
    var clicks = 0.0
    var conversions = 0.0
    /// Rows with a clicked-only CVR term (`naive-shared`).
    var clickedCVRRows = 0.0
    /// Σ of the teacher's distillation weights over the distilled rows (ESDC).
    var distilledWeight = 0.0

    init() {}

    init(_ objective: StudentObjective, _ data: EncodedRows, rows batch: [Int], teacher: TeacherSignals?) {
        rows = Double(batch.count)
        for row in batch {
            clicks += Double(data.click[row])
            conversions += Double(data.conversion[row])
            if objective.selectedForClickedCVR(data, row) { clickedCVRRows += 1 }
        }
        if let teacher {
            let space = objective.configuration.distillationSpace
            for r in batch.indices where space == .all || data.click[batch[r]] == 1 {
                distilledWeight += teacher.weight[r]
            }
        }
    }

    /// The totals summed over every rank of `communicator` (one allreduce).
    func summed(over communicator: any Communicator) -> BatchTotals {
        let sums = communicator.sum([rows, clicks, conversions, clickedCVRRows, distilledWeight])
        var totals = BatchTotals()
        (totals.rows, totals.clicks, totals.conversions) = (sums[0], sums[1], sums[2])
        (totals.clickedCVRRows, totals.distilledWeight) = (sums[3], sums[4])
        return totals
    }
}
