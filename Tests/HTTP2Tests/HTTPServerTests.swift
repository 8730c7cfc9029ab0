import Foundation
import HTTP2
import Synchronization
import Testing

/// Real clients (curl, nghttp) against a real server on 127.0.0.1.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct HTTPServerTests {
    @Test func h2PriorKnowledgeGetAndPost() throws {
        let server = try TestServer()
        let get = try CurlFetch.run(["--http2-prior-knowledge", "\(server.base)/echo?a=1"])
        #expect(get.status == 200)
        #expect(get.version == "2")
        #expect(get.headers.contains("x-method: get"))
        #expect(get.headers.contains("x-query: a=1"))
        let post = try CurlFetch.run(["--http2-prior-knowledge", "--data-binary", "hello h2", "\(server.base)/echo"])
        #expect(post.status == 200)
        #expect(post.text == "hello h2")
        let missing = try CurlFetch.run(["--http2-prior-knowledge", "\(server.base)/nowhere"])
        #expect(missing.status == 404)
    }

    /// GET and HEAD on a static route are answered by the transport (the handler never runs) over both protocols and
    /// counted; another method, or a query, goes to the handler.
    @Test func staticRoutesAreAnsweredByTheTransport() throws {
        let server = try TestServer()
        for flag in ["--http2-prior-knowledge", "--http1.1"] {
            let get = try CurlFetch.run([flag, "\(server.base)/static"])
            #expect(get.status == 200 && get.text == "static ok" && get.headers.contains("x-static: yes"), "\(flag)")
            let head = try CurlFetch.run([flag, "--head", "\(server.base)/static"])
            // curl writes a HEAD answer's header block where the body would go.
            #expect(head.status == 200 && !head.text.contains("static ok"))
            #expect(head.headers.contains("content-length: 9"))
        }
        #expect(server.handler.requestCount.load(ordering: .relaxed) == 0)
        #expect(server.handler.staticRoute.servedCount == 4)
        for flag in ["--http2-prior-knowledge", "--http1.1"] {
            #expect(try CurlFetch.run([flag, "--data-binary", "x", "\(server.base)/static"]).status == 404, "\(flag)")
            #expect(try CurlFetch.run([flag, "\(server.base)/static?probe=1"]).status == 404, "\(flag)")
        }
        #expect(server.handler.requestCount.load(ordering: .relaxed) == 4)
        #expect(server.handler.staticRoute.servedCount == 4)
    }

    /// Stream objects are reused within a connection: a later request on the same connection sees none of an earlier
    /// one's fields, body or query. (Python's h2, one connection, one request after the other; curl 7.88 cannot reuse
    /// a prior-knowledge connection.)
    @Test func aReusedStreamCarriesNothingOver() throws {
        let server = try TestServer()
        let script = """
            import json, socket, sys, h2.connection, h2.events
            sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            conn = h2.connection.H2Connection()
            conn.initiate_connection()
            answers = []
            requests = [("POST", "/echo?a=1", [("x-probe", "first")], b"first body"), ("GET", "/echo", [], b"")]
            for stream, (method, path, fields, body) in zip((1, 3), requests):
                head = [(":method", method), (":path", path), (":scheme", "http"), (":authority", "t")] + fields
                conn.send_headers(stream, head, end_stream=not body)
                if body:
                    conn.send_data(stream, body, end_stream=True)
                sock.sendall(conn.data_to_send())
                headers, data, done = {}, b"", False
                while not done:
                    for event in conn.receive_data(sock.recv(65536)):
                        if isinstance(event, h2.events.ResponseReceived):
                            headers = {k.decode(): v.decode() for k, v in event.headers}
                        elif isinstance(event, h2.events.DataReceived):
                            data += event.data
                            conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                        elif isinstance(event, h2.events.StreamEnded):
                            done = True
                    sock.sendall(conn.data_to_send())
                answers.append({"probe": headers["x-probe"], "query": headers["x-query"], "body": data.decode()})
            print(json.dumps(answers))
            """
        let result = try Command.run("/usr/bin/env", ["python3", "-c", script, String(server.port)])
        #expect(result.status == 0, "\(result.error)")
        let answers = try JSONDecoder().decode([[String: String]].self, from: result.output)
        #expect(
            answers == [
                ["probe": "first", "query": "a=1", "body": "first body"], ["probe": "none", "query": "", "body": ""],
            ])
        #expect(server.server.acceptedConnectionCount == 1)
    }

    @Test func largeBodyEchoesByteIdenticalOverBothProtocols() throws {
        let server = try TestServer()
        let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        let file = try temporaryFile(payload)
        defer { try? FileManager.default.removeItem(at: file) }
        for flag in ["--http2-prior-knowledge", "--http1.1"] {
            let result = try CurlFetch.run([flag, "--data-binary", "@\(file.path)", "\(server.base)/echo"])
            #expect(result.status == 200, "\(flag)")
            #expect(result.body == Data(payload), "\(flag)")
        }
    }

    @Test func h2cUpgradeFromHTTP1() throws {
        let server = try TestServer()
        let result = try CurlFetch.run(["--http2", "-v", "\(server.base)/echo"])
        #expect(result.status == 200)
        #expect(result.version == "2")
        #expect(result.stderr.contains("101"))
        #expect(result.headers.contains("x-version: http/1.1"))  // received as HTTP/1.1, answered on stream 1
    }

    @Test func http1KeepAliveReusesOneConnection() throws {
        let server = try TestServer()
        let result = try Command.curl([
            "--http1.1", "-w", "%{http_code} %{num_connects}\n", "-o", "/dev/null", "\(server.base)/echo", "-o",
            "/dev/null", "\(server.base)/delay?ms=10",
        ])
        #expect(result.text == "200 1\n200 0\n")
        #expect(server.server.acceptedConnectionCount == 1)
    }

    @Test func chunkedUpload() throws {
        let server = try TestServer()
        let payload = Array(String(repeating: "chunk ", count: 5000).utf8)
        let file = try temporaryFile(payload)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try CurlFetch.run([
            "--http1.1", "-H", "Transfer-Encoding: chunked", "--data-binary", "@\(file.path)", "\(server.base)/echo",
        ])
        #expect(result.status == 200)
        #expect(result.body == Data(payload))
    }

    @Test func gzipUploadIsInflatedForTheHandler() throws {
        let server = try TestServer()
        let payload = Array(String(repeating: "{\"user\":1,\"items\":[1,2,3]}", count: 200).utf8)
        let plain = try temporaryFile(payload)
        defer { try? FileManager.default.removeItem(at: plain) }
        let gzip = try Command.run("/bin/gzip", ["-c", plain.path])
        #expect(gzip.status == 0)
        let compressed = try temporaryFile(Array(gzip.output), suffix: ".gz")
        defer { try? FileManager.default.removeItem(at: compressed) }
        for flag in ["--http2-prior-knowledge", "--http1.1"] {
            let result = try CurlFetch.run([
                flag, "--data-binary", "@\(compressed.path)", "-H", "Content-Encoding: gzip", "\(server.base)/echo",
            ])
            #expect(result.status == 200, "\(flag)")
            #expect(result.body == Data(payload), "\(flag)")
        }
    }

    @Test func responsesAreGzippedWhenAcceptedAndLargeEnough() throws {
        let server = try TestServer()
        for flag in ["--http2-prior-knowledge", "--http1.1"] {
            let big = try CurlFetch.run([flag, "--compressed", "\(server.base)/big?bytes=5000"])
            #expect(big.status == 200)
            #expect(big.body.count == 5000)
            #expect(big.headers.contains("content-encoding: gzip"))
            #expect(big.headers.contains("vary: accept-encoding"))
            let small = try CurlFetch.run([flag, "--compressed", "\(server.base)/big?bytes=100"])
            #expect(small.body.count == 100)
            #expect(!small.headers.contains("content-encoding"))
            let refused = try CurlFetch.run([flag, "-H", "Accept-Encoding: gzip;q=0", "\(server.base)/big?bytes=5000"])
            #expect(refused.body.count == 5000)
            #expect(!refused.headers.contains("content-encoding"))
        }
    }

    @Test func nghttpVerboseExchange() throws {
        let server = try TestServer()
        let result = try Command.run("/usr/bin/nghttp", ["-nv", "-t", "20", "\(server.base)/echo"])
        #expect(result.status == 0)
        #expect(result.text.contains("recv SETTINGS frame"))
        #expect(result.text.contains("SETTINGS_MAX_CONCURRENT_STREAMS(0x03):128"))
        #expect(result.text.contains(":status: 200"))
    }

    @Test func manyConcurrentStreamsOnOneConnectionAreAllAnswered() throws {
        let server = try TestServer()
        let result = try Command.run(
            "/usr/bin/nghttp", ["-n", "-s", "-m", "50", "-t", "30", "\(server.base)/delay?ms=200"])
        #expect(result.status == 0, "\(result.error)")
        #expect(server.handler.requestCount.load(ordering: .relaxed) == 50)
        // nghttp's statistics list one line per completed request ("responseEnd").
        #expect(result.text.components(separatedBy: "/delay?ms=200").count - 1 == 50)
        #expect(server.server.acceptedConnectionCount == 1)
    }

    @Test func resetStreamCancelsTheRequest() throws {
        let server = try TestServer()
        let result = try Command.curl(["--http2-prior-knowledge", "\(server.base)/hang"], timeout: 1)
        #expect(result.status != 0)  // curl gave up
        #expect(eventually { server.handler.hangingCancelledCount == 1 })
        #expect(eventually { server.server.openStreams == 0 })
        let h1 = try Command.curl(["--http1.1", "\(server.base)/hang"], timeout: 1)
        #expect(h1.status != 0)
        #expect(eventually { server.handler.hangingCancelledCount == 2 })
        #expect(eventually { server.server.openConnections == 0 })
    }
}
