@testable import Ranking

/// The checkpoint fuzz target's whole input handling, shared by `Tests/Fuzz` and its regression replay
/// (`Tests/RankingTests/FuzzRegressionTests.swift`) so both run exactly the same code.
public enum CheckpointFuzzHarness {
    /// One fuzz input: byte 0 picks the mode (even: the file as given; odd: every checksum recomputed first, so
    /// mutations get past the CRCs into the table, header JSON, spec and shape checks), the rest is a checkpoint
    /// file. When it loads, the network built from it runs one request of one candidate. Throws what the loader
    /// throws; anything else (a trap) is a finding.
    public static func load(_ input: [UInt8]) throws(CheckpointError) {
        guard let mode = input.first else { return }
        var bytes = Array(input.dropFirst())
        if mode & 1 == 1 { fixChecksums(&bytes) }
        let network = InferenceNetwork(checkpoint: try Checkpoint(bytes: bytes))
        let workspace = network.makeWorkspace(maxRows: 1, maxRequests: 1)
        guard workspace.appendRequest(candidates: 1) != nil else {
            preconditionFailure("a fresh workspace had no room")
        }
        network.run(workspace)
    }

    /// Recomputes the CRC32C fields of a v1 file in place wherever the offsets they cover are in range (a CRC is
    /// corruption detection, not a defence against a crafted file).
    public static func fixChecksums(_ bytes: inout [UInt8]) {
        guard bytes.count >= 96 else { return }
        func u32(_ at: Int) -> Int { bytes[at..<at + 4].reversed().reduce(0) { $0 << 8 | Int($1) } }
        func u64(_ at: Int) -> UInt64 { bytes[at..<at + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        func put(_ value: UInt32, at: Int) {
            for i in 0..<4 { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
        }
        func range(_ offsetField: Int, _ lengthField: Int) -> Range<Int>? {
            let offset = u64(offsetField), length = u64(lengthField)
            guard offset <= UInt64(bytes.count), length <= UInt64(bytes.count) - offset else { return nil }
            return Int(offset)..<Int(offset + length)
        }
        func crc(_ range: Range<Int>) -> UInt32 { bytes[range].withUnsafeBytes { CRC32C.checksum($0) } }
        if let header = range(16, 24) { put(crc(header), at: 72) }
        if let table = range(32, 40), let data = range(48, 56) {
            var cursor = table.lowerBound
            for _ in 0..<min(u32(12), 4096) {
                guard cursor + 32 <= table.upperBound else { break }
                let nameLength = u32(cursor), rank = u32(cursor + 8)
                let offset = u64(cursor + 16), length = u64(cursor + 24)
                if offset <= UInt64(data.count), length <= UInt64(data.count) - offset {
                    let start = data.lowerBound + Int(offset)
                    put(crc(start..<start + Int(length)), at: cursor + 12)
                }
                guard rank <= 8, nameLength <= 1024 else { break }
                cursor += 32 + 8 * rank + (nameLength + 7) / 8 * 8
            }
            put(crc(table), at: 76)
        }
        put(crc(0..<92), at: 92)
    }
}
