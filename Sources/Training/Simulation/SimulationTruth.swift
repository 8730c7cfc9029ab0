/// The ground truth `simulate` writes beside each CSV, row-aligned with it: true pCTR, true pCVR given a
/// click, and the counterfactual "would buy if clicked" draw of every impression.
public struct SimulationTruth: Sendable {
    public static let header = ["true_ctr", "true_cvr", "would_buy", "eventual_conversion", "delay_hours"]

    public var trueCTR: [Float] = []
    public var trueCVR: [Float] = []
    public var wouldBuy: [Float] = []

    /// Reads the first `rows` rows of a truth file (all when nil).
    public static func read(path: String, rows: Int? = nil) throws -> SimulationTruth {
        let reader = try SimulationTruthReader(path: path)
        var truth = SimulationTruth()
        while rows.map({ truth.wouldBuy.count < $0 }) ?? true, let row = try reader.next() {
            truth.trueCTR.append(row.trueCTR)
            truth.trueCVR.append(row.trueCVR)
            truth.wouldBuy.append(row.wouldBuy)
        }
        if let rows, truth.wouldBuy.count != rows { throw reader.tooShort(dataRows: rows) }
        return truth
    }
}
