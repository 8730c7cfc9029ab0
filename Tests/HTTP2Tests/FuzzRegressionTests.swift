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

    struct Echo: HTTPHandler {
        func handle(
            _ request: HTTPRequest, cancellation: RequestCancellation, respond: @escaping @Sendable (HTTPResponse) -> Void
        ) {
            respond(HTTPResponse(status: request.method == "HEAD" ? 204 : 200, headers: [("x-path", request.path)], body: request.body))
        }
    }

    /// The fuzz targets' configuration: small limits so they are reached.
    static var configuration: HTTPServerConfiguration {
        var configuration = HTTPServerConfiguration()
        configuration.maxHeaderListBytes = 2048
        configuration.maxRequestBodyBytes = 4096
        configuration.maxInflatedBodyBytes = 16384
        configuration.maxConcurrentStreams = 8
        configuration.gzipMinimumBytes = 64
        configuration.http2.maxInvalidFrames = 8
        configuration.http2.initialStreamWindowBytes = 8192
        return configuration
    }

    static func pieces(_ bytes: [UInt8], _ size: Int) -> [[UInt8]] {
        stride(from: 0, to: bytes.count, by: max(1, min(size, bytes.count))).map {
            Array(bytes[$0..<min($0 &+ size, bytes.count)])
        }
    }

    @Test(arguments: files("FailCases/FuzzHTTP1") + files("Corpus/FuzzHTTP1"))
    func replayHTTP1(_ name: String) throws {
        let data = try [UInt8](Data(contentsOf: Self.fuzz.appendingPathComponent(name)))
        guard let selector = data.first else { return }
        let bytes = Array(data.dropFirst())
        let chunk = [Int.max, 1, 2, 3, 7, 16, 100, 1000][Int(selector) % 8]
        _ = HTTP2FuzzHooks.parseHTTP1(bytes, chunkSize: chunk, maxHeaderBytes: 2048, maxBodyBytes: 4096)
        _ = HTTP2FuzzHooks.feedConnection(Self.pieces(bytes, max(chunk, 512)), handler: Echo(), configuration: Self.configuration)
    }

    @Test(arguments: files("FailCases/FuzzHTTP2") + files("Corpus/FuzzHTTP2"))
    func replayHTTP2(_ name: String) throws {
        let data = try [UInt8](Data(contentsOf: Self.fuzz.appendingPathComponent(name)))
        guard let selector = data.first else { return }
        let bytes = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + data.dropFirst()
        let chunk = [Int.max, 9, 64, 1000][Int(selector) % 4]
        let written = HTTP2FuzzHooks.feedConnection(Self.pieces(bytes, chunk), handler: Echo(), configuration: Self.configuration)
        #expect(written > 0)  // at least the server's SETTINGS
    }
}
