#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The exact GAUC (`RankingMetrics.groupAUC`) of rows added one at a time, in bounded memory: up to
/// `memoryRows` (group, score, label) records stay in memory; beyond that they are spilled to `partitionCount`
/// anonymous temporary files by a hash of the group, and each partition — every row of its groups — is read back
/// alone at the end. Memory is then `memoryRows` records plus one partition (rows / 64 on average), disk 16 bytes
/// a row. Users' rows are spread over a log, so per-group state cannot be finalised earlier. (64 files per task keeps
/// the three grouped tasks' files far below the usual limit of 1,024 open files.)
struct GroupAUCAccumulator {
    struct Record {
        var group: UInt64
        var score: Float
        var positive: Bool
    }

    static let partitionCount = 64
    let memoryRows: Int
    private var buffer: [Record] = []
    private var partitions: [UnsafeMutablePointer<FILE>] = []
    private(set) var rows = 0

    init(memoryRows: Int = 1 << 18) {
        precondition(memoryRows > 0)
        self.memoryRows = memoryRows
    }

    mutating func add(group: UInt64, score: Float, positive: Bool) throws(DataError) {
        buffer.append(Record(group: group, score: score, positive: positive))
        rows += 1
        if buffer.count >= memoryRows { try spill() }
    }

    /// Σ_g n_g AUC_g and Σ_g n_g over groups with both classes, n_g their rows (GAUC is their ratio; ranks holding
    /// disjoint groups add them up first); closes the temporary files.
    mutating func finishSums() throws(DataError) -> (weighted: Double, total: Double) {
        var sums = (weighted: 0.0, total: 0.0)
        if partitions.isEmpty {
            Self.accumulate(&buffer, into: &sums)
        } else {
            defer {  // before the last spill, so a failing one closes the files too
                for file in partitions { fclose(file) }
                partitions = []
            }
            try spill()
            for file in partitions {
                let count = ftell(file) / MemoryLayout<Record>.stride
                var records = [Record](repeating: Record(group: 0, score: 0, positive: false), count: count)
                rewind(file)
                let read = records.withUnsafeMutableBytes {
                    fread($0.baseAddress, MemoryLayout<Record>.stride, count, file)
                }
                guard read == count else { throw Self.error("could not read back a GAUC partition") }
                Self.accumulate(&records, into: &sums)
            }
        }
        buffer = []
        return sums
    }

    /// Moves the buffered records to their partitions' files.
    private mutating func spill() throws(DataError) {
        if partitions.isEmpty {
            for _ in 0..<Self.partitionCount {
                guard let file = tmpfile() else { throw Self.error("cannot create a temporary file for GAUC") }
                partitions.append(file)
            }
        }
        buffer.sort { Self.partition($0.group) < Self.partition($1.group) }
        var start = 0
        while start < buffer.count {
            let partition = Self.partition(buffer[start].group)
            var end = start
            while end < buffer.count, Self.partition(buffer[end].group) == partition { end += 1 }
            let written = buffer[start..<end].withUnsafeBytes {
                fwrite($0.baseAddress, MemoryLayout<Record>.stride, end - start, partitions[partition])
            }
            guard written == end - start else { throw Self.error("could not write a GAUC partition (disk full?)") }
            start = end
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private static func partition(_ group: UInt64) -> Int {
        Int((group &* 0x9E37_79B9_7F4A_7C15) >> 58)  // the hash's top 6 bits: 64 partitions
    }

    /// Adds every group of `records` (all rows of each of their groups) to the sums, groups in key order.
    private static func accumulate(_ records: inout [Record], into sums: inout (weighted: Double, total: Double)) {
        records.sort { ($0.group, $0.score) < ($1.group, $1.score) }
        var start = 0
        while start < records.count {
            var end = start
            while end < records.count, records[end].group == records[start].group { end += 1 }
            if let auc = ascendingAUC(records[start..<end]) {
                sums.weighted += Double(end - start) * auc
                sums.total += Double(end - start)
            }
            start = end
        }
    }

    /// `RankingMetrics.auc` of one group's records sorted by ascending score: the same rank sum, ties averaged.
    private static func ascendingAUC(_ records: ArraySlice<Record>) -> Double? {
        var positives = 0.0, rankSum = 0.0
        var start = records.startIndex
        while start < records.endIndex {
            var end = start
            while end + 1 < records.endIndex, records[end + 1].score == records[start].score { end += 1 }
            let averageRank = Double(start - records.startIndex + end - records.startIndex) / 2 + 1
            for i in start...end where records[i].positive {
                positives += 1
                rankSum += averageRank
            }
            start = end + 1
        }
        let negatives = Double(records.count) - positives
        guard positives > 0, negatives > 0 else { return nil }
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives)
    }

    private static func error(_ message: String) -> DataError {
        DataError(file: "(temporary GAUC partitions)", line: 0, column: nil, message: message)
    }
}
