/// Reads a truth file (`SimulationTruth`) one row at a time, so evaluation can walk it beside its CSV in constant
/// memory.
public final class SimulationTruthReader {
    public struct Row: Sendable, Equatable {
        public var trueCTR: Float
        public var trueCVR: Float
        public var wouldBuy: Float
    }

    public let path: String
    private let csv: CSVReader
    private let columns: (ctr: Int, cvr: Int, buy: Int)
    /// Rows read so far.
    public private(set) var rows = 0

    public init(path: String) throws(DataError) {
        self.path = path
        csv = try CSVReader(path: path)
        guard let ctr = csv.header.firstIndex(of: "true_ctr"), let cvr = csv.header.firstIndex(of: "true_cvr"),
            let buy = csv.header.firstIndex(of: "would_buy")
        else {
            throw DataError(
                file: path, line: 1, column: nil, message: "a truth file needs true_ctr, true_cvr and would_buy")
        }
        columns = (ctr, cvr, buy)
    }

    /// The next row, or nil at the end of the file.
    public func next() throws(DataError) -> Row? {
        guard let cells = try csv.next() else { return nil }
        guard cells.count == csv.header.count, let c = Float(cells[columns.ctr]), let v = Float(cells[columns.cvr]),
            let b = Float(cells[columns.buy])
        else { throw DataError(file: path, line: csv.lineNumber, column: nil, message: "malformed truth row") }
        rows += 1
        return Row(trueCTR: c, trueCVR: v, wouldBuy: b)
    }

    /// The error for a truth file shorter than its data (`dataRows` rows).
    func tooShort(dataRows: Int) -> DataError {
        DataError(
            file: path, line: csv.lineNumber, column: nil, message: "truth file has \(rows) rows, the data \(dataRows)")
    }
}
