import Foundation
import HTTP2
import Testing

/// Oversized, malformed, slow and pipelined input, answered in the project's JSON error format.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct TransportLimitTests {
    @Test func bodyTooLargeIs413OnBothProtocols() throws {
        let server = try TestServer { $0.maxRequestBodyBytes = 1024 }
        let file = try temporaryFile([UInt8](repeating: 0x61, count: 4096))
        defer { try? FileManager.default.removeItem(at: file) }
        for flag in ["--http2-prior-knowledge", "--http1.1"] {
            let result = try CurlFetch.run([flag, "--data-binary", "@\(file.path)", "\(server.base)/echo"])
            #expect(result.status == 413, "\(flag)")
            #expect(result.text.contains(#""code":"body_too_large""#), "\(flag)")
            #expect(result.headers.contains("content-type: application/json"))
        }
        // Chunked (no Content-Length up front) is cut while streaming.
        let chunked = try CurlFetch.run([
            "--http1.1", "-H", "Transfer-Encoding: chunked", "--data-binary", "@\(file.path)", "\(server.base)/echo",
        ])
        #expect(chunked.status == 413)
        // The h2 connection survives a 413 on one stream: both streams on one connection are answered.
        // (nghttp, not curl: curl 7.88 cannot reuse an h2c prior-knowledge connection for a second URL, with
        // nghttpd as well.)
        let reuse = try Command.run(
            "/usr/bin/nghttp",
            ["-n", "-s", "-t", "20", "-d", file.path, "\(server.base)/echo", "\(server.base)/echo?again"])
        #expect(reuse.status == 0)
        #expect(reuse.text.components(separatedBy: " 413 ").count - 1 == 2)
        #expect(server.server.acceptedConnectionCount == 4)
    }

    @Test func inflatedBodyLimitAndCorruptGzip() throws {
        let server = try TestServer()
        let bomb = try temporaryFile(Array(gzipped([UInt8](repeating: 0, count: 10 * TestHandler.echoInflateLimit))))
        let corrupt = try temporaryFile([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8])
        defer {
            try? FileManager.default.removeItem(at: bomb)
            try? FileManager.default.removeItem(at: corrupt)
        }
        for flag in ["--http2-prior-knowledge", "--http1.1"] {
            let tooBig = try CurlFetch.run([
                flag, "--data-binary", "@\(bomb.path)", "-H", "Content-Encoding: gzip", "\(server.base)/echo",
            ])
            #expect(tooBig.status == 413)
            #expect(tooBig.text.contains("inflated_body_too_large"))
            let broken = try CurlFetch.run([
                flag, "--data-binary", "@\(corrupt.path)", "-H", "Content-Encoding: gzip", "\(server.base)/echo",
            ])
            #expect(broken.status == 400)
            #expect(broken.text.contains("invalid_gzip_body"))
        }
    }

    @Test func unsupportedContentEncodingIs415() throws {
        let server = try TestServer()
        for flag in ["--http2-prior-knowledge", "--http1.1"] {
            let result = try CurlFetch.run([
                flag, "--data-binary", "abc", "-H", "Content-Encoding: br", "\(server.base)/echo",
            ])
            #expect(result.status == 415)
            #expect(result.text.contains(#""code":"unsupported_content_encoding""#))
        }
    }

    @Test func malformedHTTP1Is400AndCloses() throws {
        let server = try TestServer()
        let client = try #require(RawClient(port: server.port))
        client.send("GARBAGE\r\n\r\n")
        let (text, closed) = client.receiveText()
        #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(text.contains("connection: close"))
        #expect(
            text.hasSuffix(
                #"{"error":{"code":"malformed_request","message":"Malformed request: invalid request line"}}"#))
        #expect(closed)
        #expect(server.server.protocolErrorCount == 1)
    }

    @Test func oversizedHeadersAre431() throws {
        let server = try TestServer { $0.maxHeaderListBytes = 2048 }
        let big = String(repeating: "x", count: 4000)
        let h1 = try CurlFetch.run(["--http1.1", "-H", "X-Big: \(big)", "\(server.base)/echo"])
        #expect(h1.status == 431)
        #expect(h1.text.contains("headers_too_large"))
        let h2 = try CurlFetch.run(["--http2-prior-knowledge", "-H", "X-Big: \(big)", "\(server.base)/echo"])
        #expect(h2.status == 431)
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let server = try TestServer()
        let client = try #require(RawClient(port: server.port))
        client.send(
            "GET /delay?ms=300 HTTP/1.1\r\nHost: t\r\n\r\nPOST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\n"
                + "pingGET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        let (text, closed) = client.receiveText()
        let delayed = try #require(text.range(of: "delayed"))
        let ping = try #require(text.range(of: "ping"))
        #expect(delayed.lowerBound < ping.lowerBound)
        #expect(text.components(separatedBy: "HTTP/1.1 200 OK").count - 1 == 3)
        #expect(closed)
    }

    @Test func expectContinueGetsInterimResponse() throws {
        let server = try TestServer()
        let client = try #require(RawClient(port: server.port))
        client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        let interim = client.receiveText(until: "\r\n\r\n").text
        #expect(interim == "HTTP/1.1 100 Continue\r\n\r\n")
        client.send("ok")
        let answer = client.receiveText(until: "ok").text
        #expect(answer.hasPrefix("HTTP/1.1 200 OK"))
    }

    @Test func slowRequestIsCutByReadTimeout() throws {
        let server = try TestServer { $0.readTimeout = .milliseconds(300) }
        let client = try #require(RawClient(port: server.port))
        client.send("GET /echo HTTP/1.1\r\nHost: t\r\n")  // never finishes its head
        let started = Date()
        let (text, closed) = client.receiveText()
        #expect(text.hasPrefix("HTTP/1.1 408"))
        #expect(closed)
        #expect(Date().timeIntervalSince(started) < 8)
        // A connection that never sends a byte is dropped too.
        let silent = try #require(RawClient(port: server.port))
        #expect(silent.receive().closed)
        #expect(server.server.timeoutCount >= 2)
    }

    @Test func idleConnectionsAreClosed() throws {
        let server = try TestServer { $0.idleTimeout = .milliseconds(300) }
        let client = try #require(RawClient(port: server.port))
        client.send("GET /echo HTTP/1.1\r\nHost: t\r\n\r\n")
        let (text, closed) = client.receiveText()
        #expect(text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(closed)
        let h2 = try Command.run("/usr/bin/nghttp", ["-nv", "-t", "10", "\(server.base)/echo"])
        #expect(h2.status == 0)
        #expect(eventually { server.server.openConnections == 0 })
    }

    @Test func tlsClientHelloOnCleartextServerIsClosed() throws {
        let server = try TestServer()
        let client = try #require(RawClient(port: server.port))
        client.send([0x16, 0x03, 0x01, 0x00, 0x05, 1, 0, 0, 1, 0])
        #expect(client.receive().closed)
        #expect(server.server.protocolErrorCount == 1)
    }

    @Test func garbageAfterH2PrefaceClosesOnlyThatConnection() throws {
        let server = try TestServer()
        let client = try #require(RawClient(port: server.port))
        client.send(Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [UInt8](repeating: 0xff, count: 64))
        #expect(client.receive().closed)
        let ok = try CurlFetch.run(["--http2-prior-knowledge", "\(server.base)/echo"])
        #expect(ok.status == 200)
    }

    @Test func connectionsOverTheLimitAreClosedAtOnce() throws {
        let server = try TestServer { $0.maxConnections = 1 }
        let first = try #require(RawClient(port: server.port))
        first.send("GET /echo HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(first.receiveText(until: "x-version").text.hasPrefix("HTTP/1.1 200 OK"))
        let second = try #require(RawClient(port: server.port))
        #expect(second.receive().closed)
        #expect(server.server.rejectedConnectionCount == 1)
        #expect(server.server.openConnections == 1)
    }

    private func gzipped(_ bytes: [UInt8]) throws -> Data {
        let file = try temporaryFile(bytes)
        defer { try? FileManager.default.removeItem(at: file) }
        return try Command.run("/bin/gzip", ["-c", file.path]).output
    }
}
