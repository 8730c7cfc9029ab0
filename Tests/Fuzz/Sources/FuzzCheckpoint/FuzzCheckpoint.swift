// Fuzz target: checkpoint bytes → `Checkpoint(bytes:)` (every check of the loader), and, when it loads, the
// network built from it run on one request of one candidate. The first input byte picks a mode: even = the
// bytes as given; odd = the rest with every checksum recomputed first (preamble, header, table and each tensor
// the table points at), so mutations get past the CRCs into the table, header JSON, spec and shape checks —
// a CRC is corruption detection, not a defence against a crafted file.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Ranking

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    var bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if data[0] & 1 == 1 { fixChecksums(&bytes) }
    guard let checkpoint = try? Checkpoint(bytes: bytes) else { return 0 }
    let network = InferenceNetwork(checkpoint: checkpoint)
    let workspace = network.makeWorkspace(maxRows: 1, maxRequests: 1)
    guard workspace.appendRequest(candidates: 1) != nil else { preconditionFailure("a fresh workspace had no room") }
    network.run(workspace)
    return 0
}

/// Recomputes the CRC32C fields of a v1 file in place wherever the offsets they cover are in range.
func fixChecksums(_ bytes: inout [UInt8]) {
    guard bytes.count >= 96 else { return }
    func u32(_ at: Int) -> Int { bytes[at..<at + 4].reversed().reduce(0) { $0 << 8 | Int($1) } }
    func u64(_ at: Int) -> UInt64 { bytes[at..<at + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) } }
    func put(_ value: UInt32, at: Int) { for i in 0..<4 { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) } }
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

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32
#endif

@_cdecl("FuzzCheckpoint_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    #if FUZZING
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput)
    #else
    // Replay mode: every argument is a file (or a directory of files) run through the target once.
    var count = 0
    for argument in CommandLine.arguments.dropFirst() {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: argument))?.sorted().map { "\(argument)/\($0)" } ?? [argument]
        for file in files {
            guard let bytes = FileManager.default.contents(atPath: file) else { continue }
            _ = [UInt8](bytes).withUnsafeBufferPointer { fuzzOneInput($0.baseAddress, $0.count) }
            count += 1
        }
    }
    print("replayed \(count) inputs")
    return 0
    #endif
}
