import Foundation
import FuzzHarness
import Testing

/// Replays Tests/Fuzz/FailCases/FuzzHTTP1|FuzzHTTP2/ and their seed corpora through the fuzz targets' harness
/// (`HTTPFuzzHarness`), exactly as the targets run them: first byte = read-size selector, then the bytes (for
/// HTTP/2, after the client preface). Each must run to completion without trapping and keep the invariants
/// checked here. See docs/RELIABILITY.md.
struct TransportFuzzRegressionTests {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    /// The files of a corpus directory; a missing or empty one fails the test that lists it.
    static func files(_ directory: String) -> [String] {
        let path = fuzz.appendingPathComponent(directory).path
        return ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(".") }
            .sorted().map { "\(directory)/\($0)" }
    }

    @Test func theCorporaAreThere() {
        #expect(Self.files("Corpus/FuzzHTTP1").count >= 5)
        #expect(Self.files("Corpus/FuzzHTTP2").count >= 5)
        #expect(Self.files("FailCases/FuzzHTTP1").count >= 2)
    }

    @Test(arguments: files("FailCases/FuzzHTTP1") + files("Corpus/FuzzHTTP1"))
    func replayHTTP1(_ name: String) throws {
        let input = try [UInt8](Data(contentsOf: Self.fuzz.appendingPathComponent(name)))
        let outcome = HTTPFuzzHarness.runHTTP1Input(input)
        #expect(outcome.leftHanging == 0, "unanswered requests not cancelled at close")
        #expect(outcome.writesAfterClose == 0, "bytes written after the core asked to close")
        // Any request line gets an answer: a response, a 400, or a 408 at the deadline check.
        #expect(input.count <= 1 || outcome.bytesWritten > 0)
    }

    @Test(arguments: files("FailCases/FuzzHTTP2") + files("Corpus/FuzzHTTP2"))
    func replayHTTP2(_ name: String) throws {
        let input = try [UInt8](Data(contentsOf: Self.fuzz.appendingPathComponent(name)))
        let outcome = HTTPFuzzHarness.runHTTP2Input(input)
        #expect(outcome.leftHanging == 0, "unanswered requests not cancelled at close")
        #expect(input.isEmpty || outcome.bytesWritten > 0)  // at least the server's SETTINGS
    }
}
