import Foundation
import HTTP2
import Testing

/// Replays Tests/Fuzz/FailCases/FuzzHTTP1|FuzzHTTP2/ and their seed corpora through the public fuzz entry points
/// (`HTTP2FuzzHooks`), exactly as the fuzz targets run them: first byte = read-size selector, then the bytes (for
/// HTTP/2, after the client preface). Each must run to completion without trapping. See docs/RELIABILITY.md.
struct TransportFuzzRegressionTests {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func files(_ directory: String) -> [String] {
        let path = fuzz.appendingPathComponent(directory).path
        return ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(".") }
            .sorted().map { "\(directory)/\($0)" }
    }

    @Test(arguments: files("FailCases/FuzzHTTP1") + files("Corpus/FuzzHTTP1"))
    func replayHTTP1(_ name: String) throws {
        HTTP2FuzzHooks.runHTTP1Input(try [UInt8](Data(contentsOf: Self.fuzz.appendingPathComponent(name))))
    }

    @Test(arguments: files("FailCases/FuzzHTTP2") + files("Corpus/FuzzHTTP2"))
    func replayHTTP2(_ name: String) throws {
        let data = try [UInt8](Data(contentsOf: Self.fuzz.appendingPathComponent(name)))
        guard !data.isEmpty else { return }
        #expect(HTTP2FuzzHooks.runHTTP2Input(data) > 0)  // at least the server's SETTINGS
    }
}
