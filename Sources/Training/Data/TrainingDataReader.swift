import Ranking

/// Streams a CSV file through the schema into `EncodedRows` chunks, applying the bad-row policy.
public final class TrainingDataReader {
    public let schema: TrainingSchema
    public let policy: BadRowPolicy
    public var path: String { csv.path }
    /// Rows dropped under `.skip`, and the first few of their errors.
    public private(set) var skippedRows = 0
    public private(set) var firstErrors: [DataError] = []
    public private(set) var rowsRead = 0
    /// Labels set to what the log could show at its snapshot (late clicks and conversions).
    public private(set) var corrections = LabelCorrections()
    /// Per schema field: the range of the continuous numeric values read so far (nil for other fields).
    public private(set) var numericRanges: [ClosedRange<Double>?]
    private let csv: CSVReader
    private let parser: TrainingRowParser

    public init(path: String, schema: TrainingSchema, policy: BadRowPolicy = .fail) throws(DataError) {
        self.schema = schema
        self.policy = policy
        csv = try CSVReader(path: path)
        parser = try TrainingRowParser(schema: schema, header: csv.header, path: path)
        numericRanges = Array(repeating: nil, count: schema.features.fields.count)
    }

    public var layout: InputLayout { parser.encoder.layout }

    /// Empties `rows` and fills it with up to `rows.capacity` rows; returns false when the file had none left.
    public func read(into rows: EncodedRows) throws(DataError) -> Bool {
        rows.removeAll()
        while !rows.isFull {
            let cells: [String]?
            do {
                cells = try csv.next()
            } catch {
                try reject(error)
                continue
            }
            guard let cells else { break }
            do {
                corrections =
                    corrections
                    + (try parser.parse(cells, line: csv.lineNumber, into: rows, ranges: &numericRanges))
                rows.commitRow()
                rowsRead += 1
            } catch {
                try reject(error)
            }
        }
        return rows.count > 0
    }

    private func reject(_ error: DataError) throws(DataError) {
        guard policy == .skip else { throw error }
        skippedRows += 1
        if firstErrors.count < 10 { firstErrors.append(error) }
    }

    /// Every row of a file in one chunk (tests and small evaluation files).
    public static func readAll(path: String, schema: TrainingSchema, policy: BadRowPolicy = .fail) throws(DataError)
        -> EncodedRows
    {
        let capacity = try CSVReader.countRecords(path: path)
        let reader = try TrainingDataReader(path: path, schema: schema, policy: policy)
        let rows = EncodedRows(layout: reader.layout, capacity: max(capacity, 1))
        _ = try reader.read(into: rows)
        return rows
    }
}
