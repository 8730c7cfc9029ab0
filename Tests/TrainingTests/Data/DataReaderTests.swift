import Foundation
import Ranking
import Testing

@testable import Training

/// The CSV reader, the schema and the bad-row policy.
struct DataReaderTests {
    func file(_ rows: [String]) throws -> String {
        let path = TestSupport.temporaryDirectory("csv") + "/data.csv"
        try TestSupport.write(([TestSupport.header] + rows).joined(separator: "\n") + "\n", to: path)
        return path
    }

    @Test func readsRowsThroughTheFeatureEncoder() throws {
        let path = try file([
            "r1,u1,a|b:3,7,i9,10,,0,0,,,100",
            "r1,u1,,7,i8,2.5,30,1,1,90,95.5,100",
            "\"r2\",u2,a,,i9,0,4,1,0,99.5,,100",
        ])
        let rows = try TrainingDataReader.readAll(path: path, schema: TestSupport.schema)
        #expect(rows.count == 3)
        #expect(rows.click[0] == 0 && rows.click[1] == 1 && rows.conversion[1] == 1)
        // Observed conversion 5.5 h after its click: bucket [1h, 6h) = 1; the other clicks have none.
        #expect(rows.delayBucket[1] == 1 && rows.delayBucket[2] == -1)
        #expect(rows.elapsedHours[1] == 10 && rows.elapsedHours[2] == 0.5)
        #expect(!rows.isMature(2, window: 48) && rows.isMature(1, window: 48))
        // Hard-label selection looks at the click time only: a recent conversion is not "window elapsed".
        #expect(
            !rows.windowElapsed(1, window: 48) && !rows.windowElapsed(2, window: 48)
                && rows.windowElapsed(1, window: 10))
        #expect(rows.userKey[0] == rows.userKey[1] && rows.userKey[0] != rows.userKey[2])
        // The slots are exactly what FeatureEncoder writes for the same values.
        let encoder = FeatureEncoder(spec: TestSupport.schema.features)
        var indices = [Int32](repeating: 0, count: encoder.layout.shared.slotCount)
        var weights = [Float](repeating: 0, count: encoder.layout.shared.slotCount)
        try encoder.encode(
            [
                "user": .string("u1"),
                "tags": .weighted([WeightedID(id: .string("a"), weight: 1), WeightedID(id: .string("b"), weight: 3)]),
                "hour": .string("7"),
            ], block: .shared, indices: &indices, weights: &weights)
        let (rowIndices, rowWeights) = rows.slots(.shared, row: 0)
        #expect(Array(UnsafeBufferPointer(start: rowIndices, count: indices.count)) == indices)
        #expect(Array(UnsafeBufferPointer(start: rowWeights, count: weights.count)) == weights)
        // Privileged block: log1p(30) for the clicked row with dwell 30.
        #expect(abs(rows.slots(.privileged, row: 1).weights[0] - Float(log1p(30.0))) < 1e-6)
    }

    static let badRows: [(row: String, column: Int?, message: String)] = [
        ("r1,u1,a,7,i9,10,,0,0,,,100,extra", nil, "expected 12 columns, found 13"),
        ("r1,u1,a,7,i9,ten,,0,0,,,100", 6, "'ten' is not a number"),
        ("r1,u1,a,7,i9,10,,2,0,,,100", 8, "click label must be 0 or 1, found '2'"),
        ("r1,u1,a,7,i9,10,,0,1,,,100", 9, "conversion without a click"),
        ("r1,u1,a,7,i9,10,,1,0,,,100", 10, "a clicked row needs a click time"),
        ("r1,u1,a:x,7,i9,10,,0,0,,,100", 3, "weight in 'a:x' is not a number"),
        ("r1,u1,a,7,i9,10,,1,1,90,80,100", 11, "conversion time before the click time"),
        ("r1,u1,a,7,i9,10,,1,0,yesterday,,100", 10, "'yesterday' is neither a number of hours nor an ISO-8601 time"),
    ]
    static let badRowIndices = Array(badRows.indices)

    @Test(arguments: badRowIndices)
    func badRowFailsWithFileLineAndColumn(index: Int) throws {
        let bad = Self.badRows[index]
        let path = try file(["r0,u0,a,7,i9,10,,0,0,,,100", bad.row])
        #expect(throws: DataError(file: path, line: 3, column: bad.column, message: bad.message)) {
            _ = try TrainingDataReader.readAll(path: path, schema: TestSupport.schema)
        }
    }

    @Test func skipPolicyCountsAndKeepsGoodRows() throws {
        let path = try file(["r0,u0,a,7,i9,10,,0,0,,,100"] + Self.badRows.map(\.row) + ["r9,u9,,1,i1,3,,0,0,,,100"])
        let reader = try TrainingDataReader(path: path, schema: TestSupport.schema, policy: .skip)
        let rows = EncodedRows(layout: reader.layout, capacity: 100)
        #expect(try reader.read(into: rows))
        #expect(rows.count == 2)
        #expect(reader.skippedRows == Self.badRows.count)
        #expect(reader.firstErrors.first?.description == "\(path):3: expected 12 columns, found 13")
    }

    @Test func missingColumnAndUnterminatedQuoteAreReported() throws {
        let path = TestSupport.temporaryDirectory("csv") + "/short.csv"
        try TestSupport.write("req,user\nr1,u1\n", to: path)
        #expect(
            throws: DataError(
                file: path, line: 1, column: nil, message: "no column 'tags' (feature tags) in the header")
        ) {
            _ = try TrainingDataReader(path: path, schema: TestSupport.schema)
        }
        let quoted = try file(["\"r1,u1,a,7,i9,10,,0,0,,,100"])
        #expect(
            throws: DataError(
                file: quoted, line: 2, column: 1, message: "unterminated quote (records may not span lines)")
        ) {
            _ = try TrainingDataReader.readAll(path: quoted, schema: TestSupport.schema)
        }
    }

    @Test func streamsInChunks() throws {
        let path = try file((0..<25).map { "r\($0),u\($0 % 4),,\($0 % 24),i\($0),1,,0,0,,,100" })
        let reader = try TrainingDataReader(path: path, schema: TestSupport.schema)
        let rows = EncodedRows(layout: reader.layout, capacity: 10)
        var counts: [Int] = []
        while try reader.read(into: rows) { counts.append(rows.count) }
        #expect(counts == [10, 10, 5])
    }

    @Test func schemaRoundTripsThroughJSON() throws {
        let path = TestSupport.temporaryDirectory("schema") + "/schema.json"
        try TestSupport.schema.write(path: path)
        #expect(try TrainingSchema.load(path: path) == TestSupport.schema)
        #expect(TestSupport.schema.servingFeatures.fields.allSatisfy { $0.group != .privileged })
    }

    @Test func delayBuckets() {
        let delay = DelayBuckets()
        #expect(delay.bucket(ofDelay: 0.5) == 0 && delay.bucket(ofDelay: 1) == 1 && delay.bucket(ofDelay: 200) == 6)
        #expect(delay.elapsedBuckets(3.5) == (1, 0.5))
        #expect(delay.elapsedBuckets(168).full == 7)
    }

    /// Real logs are read at a snapshot: a click or conversion logged after it was not observable, and a conversion
    /// later than the attribution window is none by definition. They train as such and are counted, not rejected.
    @Test func lateClicksAndConversionsAreCountedNotRejected() throws {
        let path = try file([
            "r1,u1,a,7,i9,10,,1,0,120,,100",  // clicked after the snapshot
            "r2,u1,a,7,i9,10,,1,1,90,120,100",  // converted after the snapshot
            "r3,u1,a,7,i9,10,,1,1,0,200,300",  // converted 200 h after the click, window 168 h
            "r4,u1,a,7,i9,10,,1,1,90,95.5,100",  // observed in time
        ])
        let reader = try TrainingDataReader(path: path, schema: TestSupport.schema)
        let rows = EncodedRows(layout: reader.layout, capacity: 10)
        #expect(try reader.read(into: rows))
        #expect(rows.count == 4)
        #expect((0..<4).map { rows.click[$0] } == [0, 1, 1, 1])
        #expect((0..<4).map { rows.conversion[$0] } == [0, 0, 0, 1])
        #expect(rows.delayBucket[1] == -1 && rows.delayBucket[2] == -1 && rows.delayBucket[3] == 1)
        #expect(rows.elapsedHours[1] == 10 && rows.elapsedHours[2] == 300)
        var expected = LabelCorrections()
        expected.clicksAfterSnapshot = 1
        expected.conversionsAfterSnapshot = 1
        expected.conversionsAfterWindow = 1
        #expect(reader.corrections == expected)
    }

    /// Logs write 0, -1, NULL or nothing where an event did not happen; such a time is never read. (A log in Unix
    /// seconds with 0 for "no click" once made every unclicked row look mature.)
    @Test func timesOfEventsThatDidNotHappenAreIgnored() throws {
        let path = try file([
            "r1,u1,a,7,i9,10,,0,0,NULL,NULL,100",
            "r2,u1,a,7,i9,10,,0,0,-1,0,100",
            "r3,u1,a,7,i9,10,,1,0,90,NULL,100",
        ])
        let rows = try TrainingDataReader.readAll(path: path, schema: TestSupport.schema)
        #expect(rows.count == 3)
        #expect(rows.click[2] == 1 && rows.conversion[2] == 0 && rows.elapsedHours[2] == 10)
        #expect(rows.clickTime[0].isNaN && rows.clickTime[1].isNaN)
    }

    /// `"time_unit"`: seconds or milliseconds are converted to hours; ISO-8601 cells are read in any unit.
    @Test func timeUnitsAndISO8601Cells() throws {
        for (unit, click, conversion, snapshot) in [
            (TimeUnit.seconds, "324000", "343800", "360000"),
            (.milliseconds, "324000000", "343800000", "360000000"),
            (.hours, "2024-05-01T00:00:00Z", "2024-05-01T05:30:00Z", "2024-05-01T10:00:00Z"),
            (.seconds, "2024-05-01T00:00:00.250Z", "2024-05-01T05:30:00.250Z", "2024-05-01T10:00:00.250Z"),
        ] {
            var schema = TestSupport.schema
            schema.timeUnit = unit
            let path = try file(["r1,u1,a,7,i9,10,,1,1,\(click),\(conversion),\(snapshot)"])
            let rows = try TrainingDataReader.readAll(path: path, schema: schema)
            #expect(rows.elapsedHours[0] == 10, "\(unit) \(click)")
            #expect(rows.delayBucket[0] == 1, "5.5 h: bucket [1 h, 6 h), \(unit) \(click)")
        }
    }

    /// A misspelt key in the schema or the training configuration names itself instead of keeping a default.
    @Test func misspeltSchemaAndConfigurationKeysAreErrors() throws {
        let directory = TestSupport.temporaryDirectory("strict")
        let path = directory + "/schema.json"
        try TestSupport.schema.write(path: path)
        var json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        json["time_units"] = "seconds"
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        #expect { try TrainingSchema.load(path: path) } throws: { "\($0)".contains("unknown key \"time_units\"") }
        json["time_units"] = nil
        var labels = json["labels"] as! [String: Any]
        labels["snapshot_tme"] = "t_snap"
        json["labels"] = labels
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        #expect { try TrainingSchema.load(path: path) } throws: {
            "\($0)".contains("unknown key \"labels.snapshot_tme\"")
        }

        let configuration = directory + "/training.json"
        try TestSupport.write(#"{"epochs": 1, "losses": {"model": "esmm", "ctcvr_wieght": 2}}"#, to: configuration)
        #expect { try TrainingConfiguration.load(path: configuration) } throws: {
            "\($0)".contains("unknown key \"losses.ctcvr_wieght\"")
        }
    }
}
