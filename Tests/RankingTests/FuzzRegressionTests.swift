import Foundation
import FuzzHarness
import Ranking
import Testing

/// Replays every input in Tests/Fuzz/FailCases/FuzzCheckpoint/ (inputs the fuzzer, or a person, found to crash
/// the loader) the way the fuzz target runs them: first byte odd = checksums recomputed first. Each must load or
/// be rejected with a `CheckpointError`, never trap. See docs/RELIABILITY.md.
struct CheckpointFuzzRegressionTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/FailCases/FuzzCheckpoint")

    static var inputs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { !$0.hasPrefix(".") }
            .sorted()
    }

    @Test func theFailCasesAreThere() {
        #expect(!Self.inputs.isEmpty)
    }

    /// Loading either succeeds or throws a `CheckpointError` (the harness's typed throw); a trap fails the run. The
    /// outcome is the same every time: nothing in the loader depends on what it read before.
    @Test(arguments: inputs)
    func replay(_ name: String) throws {
        let data = try [UInt8](Data(contentsOf: Self.directory.appendingPathComponent(name)))
        func outcome() -> CheckpointError? {
            do {
                try CheckpointFuzzHarness.load(data)
                return nil
            } catch {
                return error
            }
        }
        let first = outcome()
        #expect(outcome() == first)
    }

    @Test func shapeWhoseByteCountOverflowsIsRejected() throws {
        let data = try [UInt8](Data(contentsOf: Self.directory.appendingPathComponent("shape-bytes-overflow")))
        var bytes = Array(data.dropFirst())
        CheckpointFuzzHarness.fixChecksums(&bytes)
        #expect(throws: CheckpointError.self) { try Checkpoint(bytes: bytes) }
    }
}
