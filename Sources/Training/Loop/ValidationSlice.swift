/// Early stopping on a time-ordered validation slice (`validation_fraction`, `early_stopping_patience`): the last
/// rows of the training file (logs are written in time order, so these are its newest impressions, as the test
/// days follow the training days) are left out of training; after each epoch the student scores them, and training
/// stops once `patience` epochs in a row have not beaten the best score. The student then gets back the weights of
/// its best epoch. Score: the mean of CTR AUC and CTCVR AUC over the slice, the two tasks predicted on every
/// impression (conversions are as observed: the newest rows' are the least mature).
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
        var ctr: [Float] = [], ctcvr: [Float] = [], clicks: [Float] = [], conversions: [Float] = []
        var ordinal = 0
        while try reader.read(into: data) {
            let rows = (0..<data.count).filter { ordinal + $0 >= start }
            ordinal += data.count
            guard !rows.isEmpty else { continue }
            var pc = [Float](repeating: 0, count: rows.count), pv = pc
            predictor.predict(data, rows: rows, ctr: &pc, cvr: &pv)
            for (r, row) in rows.enumerated() {
                ctr.append(pc[r])
                ctcvr.append(pc[r] * pv[r])
                clicks.append(data.click[row])
                conversions.append(data.conversion[row])
            }
        }
        return ValidationFigures(
            epoch: epoch, rows: ctr.count, ctrAUC: RankingMetrics.auc(scores: ctr, labels: clicks) ?? 0.5,
            ctcvrAUC: RankingMetrics.auc(scores: ctcvr, labels: conversions) ?? 0.5)
    }
}
