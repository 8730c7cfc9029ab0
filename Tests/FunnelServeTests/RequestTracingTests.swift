import Foundation
import Testing

/// What operators of Triton or KServe expect to observe, over real sockets with curl: `x-request-id` echoed or made,
/// the W3C trace context and the request id in the access log (one JSON line per answer), and the access log's
/// fields for HTTP/1.1, HTTP/2 and an error.
struct RequestTracingTests {
    /// The last `count` lines of the access log. A line is written before its answer leaves, so once a client has
    /// its answer, the line is there.
    static func accessLogLines(_ path: String, count: Int) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").suffix(count).map { line in
            try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    @Test func requestIDsAreEchoedOrMadeAndLoggedWithTheTraceContext() throws {
        let logPath = NSTemporaryDirectory() + "funnel-access-\(UUID()).log"
        defer { unlink(logPath) }
        let daemon = try RunningDaemon(settings: ["access_log": logPath])
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let echoed = try daemon.curl([
            "-i", "--http2-prior-knowledge", "-H", "x-request-id: client-id-42", "-H", "traceparent: \(traceparent)",
            "\(daemon.url)/v1/models",
        ])
        #expect(echoed.output.contains("x-request-id: client-id-42\r\n"))
        let made = try daemon.curl(["-i", "--http1.1", "\(daemon.url)/readyz"])
        let madeID = try #require(
            made.output.split(separator: "\r\n").first { $0.hasPrefix("x-request-id: ") }?.dropFirst(14))
        #expect(madeID.count == 15 && madeID.allSatisfy(\.isHexDigit))
        let scored = try daemon.score(scoreBody(candidates: 2))
        #expect(scored.status == 200)
        let refused = try daemon.curl([
            "--http2-prior-knowledge", "-H", "content-type: application/json", "-d", "{", "\(daemon.url)/v1/score",
        ])
        #expect(refused.output.contains("invalid_json"))

        let lines = try Self.accessLogLines(logPath, count: 4)
        #expect(lines[0]["request_id"] as? String == "client-id-42")
        #expect(lines[0]["trace_id"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(lines[0]["parent_id"] as? String == "00f067aa0ba902b7")
        #expect(lines[0]["protocol"] as? String == "HTTP/2" && lines[0]["route"] as? String == "/v1/models")
        #expect(lines[1]["request_id"] as? String == String(madeID) && lines[1]["protocol"] as? String == "HTTP/1.1")
        #expect(lines[1]["trace_id"] == nil)
        #expect(lines[2]["path"] as? String == "/v1/score" && lines[2]["status"] as? Int == 200)
        #expect((lines[2]["request_bytes"] as? Int ?? 0) > 100 && (lines[2]["response_bytes"] as? Int ?? 0) > 100)
        #expect((lines[2]["duration_ms"] as? Double).map { $0 >= 0 } == true)
        #expect(lines[3]["status"] as? Int == 400 && lines[3]["method"] as? String == "POST")
        let time = try #require(lines[3]["time"] as? String)
        #expect(
            ISO8601DateFormatter([.withInternetDateTime, .withFractionalSeconds]).date(from: time) != nil, "\(time)")
    }

    @Test func anIDThatIsNotVisibleASCIIIsReplaced() throws {
        let daemon = try RunningDaemon()
        let answer = try daemon.curl([
            "-i", "-H", "x-request-id: \(String(repeating: "x", count: 200))", "\(daemon.url)/readyz",
        ])
        let id = answer.output.split(separator: "\r\n").first { $0.hasPrefix("x-request-id: ") }?.dropFirst(14)
        #expect(id?.count == 15)
    }
}

extension ISO8601DateFormatter {
    fileprivate convenience init(_ options: ISO8601DateFormatter.Options) {
        self.init()
        formatOptions = options
    }
}
