/// Early stopping on a time-ordered validation slice (`validation_fraction`, `early_stopping_patience`): the last
/// rows of the training file (logs are written in time order, so these are its newest impressions, as the test
/// days follow the training days) are left out of training; after each epoch the student scores them, and training
/// stops once `patience` epochs in a row have not beaten the best score. The student then gets back the weights of
/// its best epoch. Score: the mean of CTR AUC and CTCVR AUC over the slice, the two tasks predicted on every
/// impression (conversions are as observed: the newest rows' are the least mature), from score histograms
/// (`ScoreHistogram`: within its `aucErrorBound` of the exact AUC, in memory that does not grow with the slice).
public struct ValidationFigures: Sendable, Equatable, Codable {
    public var epoch: Int
    public var rows: Int
    public var ctrAUC: Double
    public var ctcvrAUC: Double
    public var score: Double { (ctrAUC + ctcvrAUC) / 2 }

    private enum CodingKeys: String, CodingKey {
        case epoch, rows
        case ctrAUC = "ctr_auc"
        case ctcvrAUC = "ctcvr_auc"
    }
}

extension Trainer {
    /// The student's figures on the rows of `file` from good-row position `start` on.
    func validationFigures(
        file: String, policy: BadRowPolicy, from start: Int, epoch: Int
    ) throws -> ValidationFigures {
        let reader = try TrainingDataReader(path: file, schema: schema, policy: policy)
        let data = EncodedRows(layout: reader.layout, capacity: configuration.shuffleWindow)
        let predictor = self.predictor
        // Histograms, not arrays: memory stays the same whatever the slice's size (AUC within their stated bound).
        var ctr = ScoreHistogram(), ctcvr = ScoreHistogram()
        var ordinal = 0
        while try reader.read(into: data) {
            let rows = (0..<data.count).filter { ordinal + $0 >= start }
            ordinal += data.count
            guard !rows.isEmpty else { continue }
            var pc = [Float](repeating: 0, count: rows.count), pv = pc
            predictor.predict(data, rows: rows, ctr: &pc, cvr: &pv)
            for (r, row) in rows.enumerated() {
                ctr.add(pc[r], positive: data.click[row] == 1)
                ctcvr.add(pc[r] * pv[r], positive: data.conversion[row] == 1)
            }
        }
        return ValidationFigures(
            epoch: epoch, rows: ctr.rows, ctrAUC: ctr.auc ?? 0.5, ctcvrAUC: ctcvr.auc ?? 0.5)
    }
}
