import Foundation
import Ranking
import Testing

/// Replays every input in Tests/Fuzz/FailCases/FuzzCheckpoint/ (inputs the fuzzer, or a person, found to crash
/// the loader) the way the fuzz target runs them: first byte odd = checksums recomputed first. Each must load or
/// be rejected with a `CheckpointError`, never trap. See docs/RELIABILITY.md.
struct CheckpointFuzzRegressionTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/FailCases/FuzzCheckpoint")

    static var inputs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    @Test(arguments: inputs)
    func replay(_ name: String) throws {
        let data = try [UInt8](Data(contentsOf: Self.directory.appendingPathComponent(name)))
        guard let mode = data.first else { return }
        var bytes = Array(data.dropFirst())
        if mode & 1 == 1 { Self.fixChecksums(&bytes) }
        do {
            let checkpoint = try Checkpoint(bytes: bytes)
            let network = InferenceNetwork(checkpoint: checkpoint)
            let workspace = network.makeWorkspace(maxRows: 1, maxRequests: 1)
            _ = workspace.appendRequest(candidates: 1)
            network.run(workspace)
        } catch {
            #expect(!"\(error)".isEmpty)
        }
    }

    @Test func shapeWhoseByteCountOverflowsIsRejected() throws {
        let data = try [UInt8](Data(contentsOf: Self.directory.appendingPathComponent("shape-bytes-overflow")))
        var bytes = Array(data.dropFirst())
        Self.fixChecksums(&bytes)
        #expect(throws: CheckpointError.self) { try Checkpoint(bytes: bytes) }
    }

    /// The fuzz target's checksum fix-up (Tests/Fuzz/Sources/FuzzCheckpoint), kept identical.
    static func fixChecksums(_ bytes: inout [UInt8]) {
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
