/// The ground truth `simulate` writes beside each CSV, row-aligned with it: true pCTR, true pCVR given a
/// click, and the counterfactual "would buy if clicked" draw of every impression.
public struct SimulationTruth: Sendable {
    public static let header = ["true_ctr", "true_cvr", "would_buy", "eventual_conversion", "delay_hours"]

    public var trueCTR: [Float] = []
    public var trueCVR: [Float] = []
    public var wouldBuy: [Float] = []

    /// Reads the first `rows` rows of a truth file (all when nil).
    public static func read(path: String, rows: Int? = nil) throws -> SimulationTruth {
        let csv = try CSVReader(path: path)
        guard let ctr = csv.header.firstIndex(of: "true_ctr"), let cvr = csv.header.firstIndex(of: "true_cvr"),
            let buy = csv.header.firstIndex(of: "would_buy")
        else {
            throw DataError(
                file: path, line: 1, column: nil, message: "a truth file needs true_ctr, true_cvr and would_buy")
        }
        var truth = SimulationTruth()
        while rows.map({ truth.wouldBuy.count < $0 }) ?? true, let cells = try csv.next() {
            guard cells.count == csv.header.count, let c = Float(cells[ctr]), let v = Float(cells[cvr]),
                let b = Float(cells[buy])
            else { throw DataError(file: path, line: csv.lineNumber, column: nil, message: "malformed truth row") }
            truth.trueCTR.append(c)
            truth.trueCVR.append(v)
            truth.wouldBuy.append(b)
        }
        if let rows, truth.wouldBuy.count != rows {
            throw DataError(
                file: path, line: csv.lineNumber, column: nil,
                message: "truth file has \(truth.wouldBuy.count) rows, the data \(rows)")
        }
        return truth
    }
}
