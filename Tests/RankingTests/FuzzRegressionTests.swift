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

    /// Loading either succeeds or throws a `CheckpointError` (the harness's typed throw); a trap fails the run.
    @Test(arguments: inputs)
    func replay(_ name: String) throws {
        let data = try [UInt8](Data(contentsOf: Self.directory.appendingPathComponent(name)))
        do {
            try CheckpointFuzzHarness.load(data)
        } catch {
            #expect(!error.description.isEmpty, "an error with no message: \(error)")
        }
    }

    @Test func shapeWhoseByteCountOverflowsIsRejected() throws {
        let data = try [UInt8](Data(contentsOf: Self.directory.appendingPathComponent("shape-bytes-overflow")))
        var bytes = Array(data.dropFirst())
        CheckpointFuzzHarness.fixChecksums(&bytes)
        #expect(throws: CheckpointError.self) { try Checkpoint(bytes: bytes) }
    }
}
