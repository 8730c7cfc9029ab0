import Testing

@testable import HTTP2

/// The sans-I/O parser alone: bytes in, events out.
struct HTTP1ParserTests {
    private func events(_ input: String, maxHeaderBytes: Int = 1024, maxBodyBytes: Int = 1024, splitEvery: Int? = nil)
        -> [String]
    {
        var parser = HTTP1Parser(maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
        var out: [String] = []
        var body: [UInt8] = []
        let bytes = Array(input.utf8)
        let step = splitEvery ?? max(bytes.count, 1)
        for start in stride(from: 0, to: max(bytes.count, 1), by: step) {
            let chunk = Array(bytes[start..<min(start + step, bytes.count)])
            chunk.withUnsafeBytes { parser.append($0) }
            while let event = parser.next() {
                switch event {
                case .head(let head):
                    out.append("head \(head.method) \(head.path) \(head.query ?? "-") ka=\(head.keepAlive)")
                case .body(let chunk): body += chunk
                case .end:
                    out.append("end \(String(decoding: body, as: UTF8.self))")
                    body = []
                case .error(let error): out.append("error \(error)")
                }
            }
        }
        return out
    }

    @Test func pipelinedRequestsWithBodies() {
        let input =
            "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /c HTTP/1.0\r\n\r\n"
        let expected = [
            "head GET /a x=1 ka=true", "end ", "head POST /b - ka=true", "end hello", "head GET /c - ka=false", "end ",
        ]
        #expect(events(input) == expected)
        #expect(events(input, splitEvery: 1) == expected)
    }

    @Test func chunkedBodyWithExtensionsAndTrailers() {
        let input =
            "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n"
        #expect(events(input) == ["head POST /u - ka=true", "end hello world"])
        #expect(events(input, splitEvery: 3) == ["head POST /u - ka=true", "end hello world"])
    }

    @Test func absoluteFormTargetKeepsPathAndQuery() {
        #expect(events("GET http://example.com/p?q=2 HTTP/1.1\r\n\r\n") == ["head GET /p q=2 ka=true", "end "])
    }

    @Test func rejectsSmugglingAndSyntaxErrors() {
        let cases: [(String, HTTP1ParseError)] = [
            ("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", .conflictingFraming),
            ("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", .invalidContentLength),
            ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", .invalidContentLength),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", .unsupportedTransferEncoding),
            ("GET / HTTP/1.1\nHost: x\r\n\r\n", .bareLineFeed),
            ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", .malformedHeader),
            ("GET / HTTP/1.1\r\n folded\r\n\r\n", .malformedHeader),
            ("GET  / HTTP/1.1\r\n\r\n", .malformedRequestLine),
            ("GET / HTTP/2.0\r\n\r\n", .unsupportedVersion),
            ("GARBAGE\r\n\r\n", .malformedRequestLine),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .malformedChunk),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", .malformedChunk),
        ]
        for (input, error) in cases {
            #expect(events(input).last == "error \(error)", "\(input.debugDescription)")
        }
    }

    @Test func enforcesHeaderAndBodyBounds() {
        let longHeader = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 2000) + "\r\n\r\n"
        #expect(events(longHeader).last == "error headersTooLarge")
        #expect(events(String(repeating: "a", count: 2000)).last == "error headersTooLarge")
        #expect(
            events("POST / HTTP/1.1\r\nContent-Length: 2000\r\n\r\n") == [
                "head POST / - ka=true", "error bodyTooLarge",
            ])
        let chunks =
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + String(repeating: "a", count: 1024)
            + "\r\n1\r\nb\r\n0\r\n\r\n"
        #expect(events(chunks).last == "error bodyTooLarge")
    }

    @Test func upgradeAndExpectationsAreRecognised() {
        var parser = HTTP1Parser(maxHeaderBytes: 1024, maxBodyBytes: 1024)
        let input =
            "GET / HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nExpect: 100-continue\r\n\r\n"
        Array(input.utf8).withUnsafeBytes { parser.append($0) }
        guard case .head(let head) = parser.next() else {
            Issue.record("no head")
            return
        }
        #expect(head.http2Settings == "AAMAAABkAAQAoAAAAAIAAAAA")
        #expect(head.expectsContinue)
        #expect(Base64URL.decode("AAMAAABkAAQAoAAAAAIAAAAA")?.count == 18)
    }

    @Test func survivesArbitraryBytes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var parser = HTTP1Parser(maxHeaderBytes: 256, maxBodyBytes: 256)
            let alphabet = Array(
                "GET POST / HTTP/1.1\r\n:;0123456789abcdefchunked Transfer-Encoding Content-Length\t".utf8)
            let bytes = (0..<Int.random(in: 0..<400, using: &generator)).map { _ in
                Bool.random(using: &generator)
                    ? alphabet.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
            }
            bytes.withUnsafeBytes { parser.append($0) }
            var steps = 0
            while parser.next() != nil && steps < 10_000 { steps += 1 }
            #expect(steps < 10_000)
        }
    }
}
