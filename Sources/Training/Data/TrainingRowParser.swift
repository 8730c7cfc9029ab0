import Ranking

/// One CSV record → one encoded row of `EncodedRows`, through `FeatureEncoder` (the function the server
/// uses). Every problem becomes a `DataError` naming file, line and column.
struct TrainingRowParser {
    private struct FeatureColumn {
        let field: Int
        let column: Int
        let spec: FieldSpec
    }

    let schema: TrainingSchema
    let encoder: FeatureEncoder
    let path: String
    let columnCount: Int
    private let features: [FeatureColumn]
    /// Cross fields (computed from other fields' values, so without a column of their own).
    private let crosses: [Int]
    /// Field name → position in `features`, for the components of crosses.
    private let featurePosition: [String: Int]
    private let click: Int
    private let conversion: Int
    private let impressionTime: Int?
    private let clickTime: Int?
    private let conversionTime: Int?
    private let snapshotTime: Int?
    private let price: Int?
    private let refund: Int?
    private let requestID: Int?
    private let userID: Int?
    private let listSeparator: Character
    private let weightSeparator: Character

    init(schema: TrainingSchema, header: [String], path: String) throws(DataError) {
        self.schema = schema
        self.path = path
        encoder = FeatureEncoder(spec: schema.features)
        columnCount = header.count
        var position: [String: Int] = [:]
        for (index, name) in header.enumerated() where position[name] == nil { position[name] = index }
        func required(_ name: String, _ role: String) throws(DataError) -> Int {
            guard let index = position[name] else {
                throw DataError(
                    file: path, line: 1, column: nil, message: "no column '\(name)' (\(role)) in the header")
            }
            return index
        }
        func optional(_ name: String?, _ role: String) throws(DataError) -> Int? {
            guard let name else { return nil }
            return try required(name, role)
        }
        var features: [FeatureColumn] = []
        var crosses: [Int] = []
        for (index, field) in schema.features.fields.enumerated() {
            if case .cross = field.kind {
                crosses.append(index)
                continue
            }
            features.append(
                FeatureColumn(
                    field: index, column: try required(schema.column(of: field), "feature \(field.name)"), spec: field))
        }
        self.features = features
        self.crosses = crosses
        featurePosition = Dictionary(uniqueKeysWithValues: features.enumerated().map { ($1.spec.name, $0) })
        let labels = schema.labels
        click = try required(labels.click, "click label")
        conversion = try required(labels.conversion, "conversion label")
        impressionTime = try optional(labels.impressionTime, "impression_time")
        clickTime = try optional(labels.clickTime, "click_time")
        conversionTime = try optional(labels.conversionTime, "conversion_time")
        snapshotTime = try optional(labels.snapshotTime, "snapshot_time")
        price = try optional(labels.price, "price")
        refund = try optional(labels.refund, "refund")
        requestID = try optional(labels.requestID, "request_id")
        userID = try optional(labels.userID, "user_id")
        listSeparator = Character(schema.listSeparator)
        weightSeparator = Character(schema.weightSeparator)
    }

    /// Parses `cells` (line `line`) into row `rows.count` of `rows`; the caller commits it. Widens `ranges` (one per
    /// field) by the row's continuous numeric values. Returns the labels it changed to what the log could show at its
    /// snapshot.
    func parse(
        _ cells: [String], line: Int, into rows: EncodedRows, ranges: inout [ClosedRange<Double>?]
    ) throws(DataError) -> LabelCorrections {
        guard cells.count == columnCount else {
            throw DataError(
                file: path, line: line, column: nil, message: "expected \(columnCount) columns, found \(cells.count)")
        }
        let row = rows.count
        var values: [FeatureValue] = []
        values.reserveCapacity(crosses.isEmpty ? 0 : features.count)
        for feature in features {
            let value = try value(cells[feature.column], feature.spec, line: line, column: feature.column)
            if !crosses.isEmpty { values.append(value) }
            if feature.spec.isContinuous, case .double(let x) = value {
                let seen = ranges[feature.field]
                ranges[feature.field] = seen.map { min($0.lowerBound, x)...max($0.upperBound, x) } ?? x...x
            }
            let block = rows.layout.placements[feature.field].block
            let (indices, weights) = rows.slots(block, row: row)
            do {
                try encoder.encode(value, field: feature.field, indices: indices, weights: weights)
            } catch {
                throw DataError(file: path, line: line, column: feature.column + 1, message: error.description)
            }
        }
        for field in crosses {
            let (indices, weights) = rows.slots(rows.layout.placements[field].block, row: row)
            encoder.encodeCross(field: field, indices: indices, weights: weights) { values[featurePosition[$0]!] }
        }
        var clicked = try binary(cells, click, line: line, name: "click")
        var converted = try binary(cells, conversion, line: line, name: "conversion")
        if converted == 1, clicked == 0 {
            throw DataError(file: path, line: line, column: conversion + 1, message: "conversion without a click")
        }
        let snapshot = try time(cells, snapshotTime, line: line)
        let impressionAt = try time(cells, impressionTime, line: line)
        // The time of an event that did not happen is ignored, whatever the log put there (empty, 0, -1, NULL).
        var clickAt = clicked == 1 ? try time(cells, clickTime, line: line) : nil
        if clicked == 1, clickTime != nil, clickAt == nil {
            throw DataError(file: path, line: line, column: clickTime! + 1, message: "a clicked row needs a click time")
        }
        var corrections = LabelCorrections()
        if clicked == 1, let snapshot, let clickedAt = clickAt, clickedAt > snapshot {
            // Clicked after the labels were read: not observed yet, so not a click (nor a conversion) here.
            (clicked, converted, clickAt) = (0, 0, nil)
            corrections.clicksAfterSnapshot = 1
        }
        var elapsed = Double.infinity
        if let snapshot, let start = clicked == 1 ? clickAt : impressionAt {
            elapsed = snapshot - start
            guard elapsed >= 0 else {
                throw DataError(
                    file: path, line: line, column: snapshotTime! + 1, message: "snapshot before the impression")
            }
        }
        rows.elapsedHours[row] = Float(elapsed)
        rows.clickTime[row] = clicked == 1 ? Float(clickAt ?? .nan) : .nan
        rows.delayBucket[row] = -1
        if converted == 1, let clickAt, let conversionAt = try time(cells, conversionTime, line: line) {
            let delay = conversionAt - clickAt
            guard delay >= 0 else {
                throw DataError(
                    file: path, line: line, column: conversionTime! + 1,
                    message: "conversion time before the click time")
            }
            if let snapshot, conversionAt > snapshot {
                converted = 0
                corrections.conversionsAfterSnapshot = 1
            } else if delay > schema.delay.attributionWindowHours {
                converted = 0
                corrections.conversionsAfterWindow = 1
            } else {
                rows.delayBucket[row] = Int32(schema.delay.bucket(ofDelay: delay))
            }
        }
        rows.click[row] = clicked
        rows.conversion[row] = converted
        rows.price[row] = Float(try number(cells, price, line: line) ?? 0)
        rows.refund[row] = refund == nil ? 0 : try binary(cells, refund!, line: line, name: "refund")
        rows.userKey[row] = userID.map { Self.key(cells[$0]) } ?? 0
        rows.requestKey[row] = requestID.map { Self.key(cells[$0]) } ?? 0
        return corrections
    }

    private static func key(_ cell: String) -> UInt64 { FeatureHash.xxh64(Array(cell.utf8), seed: 0x9E37) }

    private func value(_ cell: String, _ spec: FieldSpec, line: Int, column: Int) throws(DataError) -> FeatureValue {
        if cell.isEmpty { return .missing }
        switch spec.kind {
        case .categorical:
            return .string(cell)
        case .cross:
            preconditionFailure("a cross has no column: its components' values make it")
        case .multiCategorical:
            var ids: [WeightedID] = []
            for piece in cell.split(separator: listSeparator, omittingEmptySubsequences: true) {
                if let mark = piece.firstIndex(of: weightSeparator) {
                    guard let weight = Double(piece[piece.index(after: mark)...]) else {
                        throw DataError(
                            file: path, line: line, column: column + 1, message: "weight in '\(piece)' is not a number")
                    }
                    ids.append(WeightedID(id: .string(String(piece[..<mark])), weight: weight))
                } else {
                    ids.append(WeightedID(id: .string(String(piece)), weight: 1))
                }
            }
            return ids.isEmpty ? .missing : .weighted(ids)
        case .numeric:
            guard let number = Double(cell) else {
                throw DataError(file: path, line: line, column: column + 1, message: "'\(cell)' is not a number")
            }
            return .double(number)
        }
    }

    private func binary(_ cells: [String], _ column: Int, line: Int, name: String) throws(DataError) -> Float {
        switch cells[column] {
        case "0", "0.0": return 0
        case "1", "1.0": return 1
        default:
            throw DataError(
                file: path, line: line, column: column + 1,
                message: "\(name) label must be 0 or 1, found '\(cells[column])'")
        }
    }

    private func number(_ cells: [String], _ column: Int?, line: Int) throws(DataError) -> Double? {
        guard let column, !cells[column].isEmpty else { return nil }
        guard let value = Double(cells[column]), value.isFinite else {
            throw DataError(
                file: path, line: line, column: column + 1, message: "'\(cells[column])' is not a finite number")
        }
        return value
    }

    /// A time cell in hours (see `TimeUnit`); nil when empty.
    private func time(_ cells: [String], _ column: Int?, line: Int) throws(DataError) -> Double? {
        guard let column, !cells[column].isEmpty else { return nil }
        guard let hours = schema.timeUnit.hours(cells[column]) else {
            throw DataError(
                file: path, line: line, column: column + 1,
                message: "'\(cells[column])' is neither a number of \(schema.timeUnit.rawValue) nor an ISO-8601 time")
        }
        return hours
    }
}
