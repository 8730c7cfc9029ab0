import Foundation
import Testing

/// The daemon over real sockets with real clients: curl (h2c prior knowledge, h2c upgrade, HTTP/1.1, TLS),
/// nghttp, h2load, promtool.
@Suite(.serialized)
struct ScoringEndToEndTests {
    func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }

    @Test func scoresOverEveryProtocol() throws {
        let daemon = try RunningDaemon()
        for flags in [["--http2-prior-knowledge"], ["--http1.1"]] {
            let (status, body) = try daemon.score(scoreBody(candidates: 5), flags: flags)
            #expect(status == 200, "\(flags): \(body)")
            let response = try json(body)
            let model = response["model"] as! [String: Any]
            #expect(model["name"] as? String == "funnel-student" && model["version"] as? Int == 1)
            let results = response["results"] as! [[String: Any]]
            #expect(results.map { $0["id"] as! String } == (0..<5).map { "item-\($0)" })
            for result in results {
                let ctr = result["pctr"] as! Double, cvr = result["pcvr"] as! Double
                #expect(ctr > 0 && ctr < 1 && cvr > 0 && cvr < 1)
                #expect(abs(result["pctcvr"] as! Double - ctr * cvr) < 1e-6)
            }
        }
        let topK = try json(try daemon.score(scoreBody(candidates: 30, extra: #", "top_k": 3"#)).body)
        let scores = (topK["results"] as! [[String: Any]]).map { $0["score"] as! Double }
        #expect(scores.count == 3 && scores == scores.sorted(by: >))

        // curl --http2 on http:// upgrades with `Upgrade: h2c`.
        let upgraded = try daemon.curl([
            "--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "\(daemon.url)/healthz",
        ])
        #expect(upgraded.output == "2 200")
        let h1 = try daemon.curl([
            "--http1.1", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "\(daemon.url)/readyz",
        ])
        #expect(h1.output == "1.1 200")
    }

    @Test func manyConcurrentStreamsOnOneConnectionEachGetTheirAnswer() throws {
        let daemon = try RunningDaemon()
        let bodyFile = daemon.directory + "/body.json"
        try Data(scoreBody(candidates: 20).utf8).write(to: URL(fileURLWithPath: bodyFile))
        // 64 requests, all in flight at once on one connection.
        let result = try run(
            "/usr/bin/nghttp",
            [
                "-n", "-m", "64", "-d", bodyFile, "-H", "content-type: application/json", "--stat",
                "\(daemon.url)/v1/score",
            ])
        #expect(result.status == 0, "\(result.error)")
        let load = try run(
            "/usr/bin/h2load",
            [
                "-n", "400", "-c", "4", "-m", "16", "-d", bodyFile, "-H", "content-type: application/json",
                "\(daemon.url)/v1/score",
            ])
        #expect(load.output.contains("400 succeeded, 0 failed, 0 errored"), "\(load.output)")
        #expect(load.output.contains("status codes: 400 2xx"), "\(load.output)")
    }

    @Test func everyErrorHasItsStatusAndAJSONBody() throws {
        let daemon = try RunningDaemon(settings: ["max_candidates_per_request": 50, "max_request_body_bytes": 65536])
        func check(_ status: Int, _ code: String, _ result: (status: Int, body: String)) throws {
            #expect(result.status == status, "\(result.body)")
            let error = try json(result.body)["error"] as? [String: Any]
            #expect(error?["code"] as? String == code, "\(result.body)")
            #expect((error?["message"] as? String)?.isEmpty == false)
        }
        try check(400, "invalid_json", try daemon.score("{\"candidates\": ["))
        try check(400, "invalid_json", try daemon.score(#"{"candidates": [{"id": "a", "features": {"price": NaN}}]}"#))
        try check(
            400, "invalid_feature",
            try daemon.score(#"{"candidates": [{"id": "a", "features": {"price": 1, "x": 1}}]}"#))
        try check(400, "invalid_request", try daemon.score(#"{"candidates": [], "extra": 1}"#))
        try check(413, "too_many_candidates", try daemon.score(scoreBody(candidates: 51)))
        let huge = "{\"candidates\": [\"" + String(repeating: "x", count: 70_000) + "\"]}"
        let tooLarge = try daemon.score(huge)
        #expect(tooLarge.status == 413)
        try check(
            415, "unsupported_media_type",
            try daemon.score(scoreBody(candidates: 1), headers: ["content-type: text/plain"]))
        let notFound = try daemon.curl(["--http2-prior-knowledge", "-w", "\n%{http_code}", "\(daemon.url)/v2/nothing"])
        try check(
            404, "not_found",
            (Int(notFound.output.split(separator: "\n").last!)!, String(notFound.output.split(separator: "\n").first!)))
        let wrongMethod = try daemon.curl(["--http2-prior-knowledge", "-i", "\(daemon.url)/v1/score"])
        #expect(wrongMethod.output.hasPrefix("HTTP/2 405"))
        #expect(wrongMethod.output.lowercased().contains("allow: post"))
        // Every GET route answers HEAD too (as its 405 `Allow: GET, HEAD` says), with no body.
        for path in ["/healthz", "/readyz", "/metrics", "/v1/models"] {
            let head = try daemon.curl(["--http2-prior-knowledge", "-s", "-I", "\(daemon.url)\(path)"])
            #expect(head.output.hasPrefix("HTTP/2 200"), "HEAD \(path): \(head.output)")
        }
        let deleteMetrics = try daemon.curl([
            "--http2-prior-knowledge", "-s", "-i", "-X", "DELETE", "\(daemon.url)/metrics",
        ])
        #expect(
            deleteMetrics.output.hasPrefix("HTTP/2 405")
                && deleteMetrics.output.lowercased().contains("allow: get, head"))
    }

    /// The memory budget counts a body's decode work, not only its bytes: with a 64 KiB budget a small request is
    /// scored, a 38 KB one (whose parse would need ~8x its size) is refused with 503 and Retry-After, and what it
    /// held is given back, so the next small request and /healthz are served.
    @Test func requestsPastTheMemoryBudgetGet503AndTheRestAreServed() throws {
        let daemon = try RunningDaemon(settings: ["memory_budget_bytes": 65536, "max_request_body_bytes": 65536])
        #expect(try daemon.score(scoreBody(candidates: 5)).status == 200)
        let large = scoreBody(candidates: 400)
        #expect(large.utf8.count > 30_000 && large.utf8.count < 65536)
        let path = daemon.directory + "/large.json"
        try Data(large.utf8).write(to: URL(fileURLWithPath: path))
        for flag in ["--http2-prior-knowledge", "--http1.1"] {
            let refused = try daemon.curl([
                flag, "-s", "-i", "-H", "content-type: application/json", "--data-binary", "@" + path,
                "\(daemon.url)/v1/score",
            ]).output.lowercased()
            #expect(refused.contains(" 503") && refused.contains("retry-after: 1"), "\(flag): \(refused.prefix(300))")
            #expect(refused.contains("\"overloaded\""), "\(flag): \(refused.prefix(300))")
            #expect(try daemon.score(scoreBody(candidates: 5), flags: [flag]).status == 200)
        }
        let health = try daemon.curl([
            "--http2-prior-knowledge", "-s", "-o", "/dev/null", "-w", "%{http_code}", "\(daemon.url)/healthz",
        ])
        #expect(health.output == "200")
        // A worker gives a request's reservation back just after its answer left: poll briefly.
        var metrics = ""
        for _ in 0..<50 {
            metrics = try daemon.curl(["--http2-prior-knowledge", "-s", "\(daemon.url)/metrics"]).output
            if metrics.contains("funnel_memory_budget_used_bytes 0.0\n") { break }
            usleep(100_000)
        }
        #expect(metrics.contains("funnel_memory_budget_used_bytes 0.0\n"), "every reservation was returned")
        #expect(metrics.contains("funnel_memory_budget_limit_bytes 65536.0\n"))
        #expect(metrics.contains(#"funnel_rejections_total{reason="memory"} 2"#))
    }

    /// A value that would make the daemon useless (a connection that never reads, a budget below one request) stops
    /// it at start with a message naming the key.
    @Test func outOfRangeConfigurationValuesAreRefusedByName() throws {
        let directory = NSTemporaryDirectory() + "funnel-config-\(UUID())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [(String, Any, String)] = [
            ("max_output_buffer_bytes", 0, "max_output_buffer_bytes must be in 65536...1073741824, not 0"),
            ("memory_budget_bytes", 1024, "memory_budget_bytes must be in 4194304"),
            ("idle_timeout_seconds", -1, "idle_timeout_seconds must be in"),
            ("num_decode_threads", -2, "num_decode_threads must be in 0...1024, not -2"),
            ("num_event_loops", 2000, "num_event_loops must be in 0...1024, not 2000"),
            ("max_inflated_body_bytes", 10, "max_inflated_body_bytes must be in 1024"),
        ]
        for (key, value, message) in cases {
            let path = directory + "/\(key).json"
            try JSONSerialization.data(withJSONObject: [key: value, "port": 0]).write(to: URL(fileURLWithPath: path))
            let result = try run(RunningDaemon.binary.path, ["--config", path])
            #expect(result.status != 0, "\(key)")
            #expect(result.error.contains(message), "\(key): \(result.error)")
        }
    }

    @Test func overloadAndDeadlinesAnswer503And504() throws {
        // A 400 ms queue delay holds the first batch, so the queue fills and deadlines pass.
        let daemon = try RunningDaemon(settings: [
            "batch_timeout_micros": 400_000, "max_batch_rows": 100, "max_candidates_per_request": 100,
            "max_queued_rows": 100, "num_batch_threads": 1,
        ])
        let body = daemon.directory + "/60.json"
        try Data(scoreBody(candidates: 60).utf8).write(to: URL(fileURLWithPath: body))
        let first = Process()
        first.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        first.arguments = [
            "-s", "-o", "/dev/null", "--http2-prior-knowledge", "-H", "content-type: application/json",
            "--data-binary", "@" + body, "\(daemon.url)/v1/score",
        ]
        try first.run()
        usleep(150_000)
        let refused = try daemon.curl([
            "--http2-prior-knowledge", "-i", "-H", "content-type: application/json", "--data-binary", "@" + body,
            "\(daemon.url)/v1/score",
        ]).output.lowercased()
        #expect(refused.hasPrefix("http/2 503"), "\(refused)")
        #expect(refused.contains("retry-after: 1") && refused.contains("\"overloaded\""), "\(refused)")
        first.waitUntilExit()
        let late = try daemon.score(scoreBody(candidates: 5, extra: #", "deadline_ms": 50"#))
        #expect(late.status == 504 && late.body.contains("deadline_exceeded"), "\(late)")
    }

    @Test func operationalEndpoints() throws {
        let daemon = try RunningDaemon()
        _ = try daemon.score(scoreBody(candidates: 3))
        let metrics = try daemon.curl(["-i", "\(daemon.url)/metrics"])
        #expect(metrics.output.contains("content-type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        for name in [
            "funnel_requests_total{route=\"/v1/score\",code=\"200\"} 1",
            "funnel_inferences_total{model=\"funnel-student\",version=\"1\"} 3",
            "funnel_model_info{model=\"funnel-student\",version=\"1\"} 1", "funnel_open_connections",
            "funnel_kernel_duration_seconds_bucket{model=\"funnel-student\",version=\"1\"",
            "funnel_queue_wait_seconds_count{model=\"funnel-student\",version=\"1\"}",
            "funnel_inference_request_duration_seconds_count{model=\"funnel-student\",version=\"1\"} 1",
            "funnel_request_size_bytes_bucket{route=\"/v1/score\"", "funnel_response_size_bytes_count",
            "funnel_requests_in_flight 1",
        ] {
            #expect(metrics.output.contains(name), "missing \(name)")
        }
        do {
            let exposition = try daemon.curl(["\(daemon.url)/metrics"]).output
            let check = Process()
            check.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
            check.arguments = ["check", "metrics"]
            let input = Pipe(), output = Pipe()
            check.standardInput = input
            check.standardOutput = output
            check.standardError = output
            try check.run()
            input.fileHandleForWriting.write(Data(exposition.utf8))
            try input.fileHandleForWriting.close()
            let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            check.waitUntilExit()
            #expect(check.terminationStatus == 0, "promtool: \(report)")
        }
        let models = try json(try daemon.curl(["\(daemon.url)/v1/models"]).output)
        let listed = (models["models"] as! [[String: Any]])[0]
        #expect(listed["name"] as? String == "funnel-student" && listed["version"] as? Int == 1)
        let features = (listed["features"] as! [[String: Any]]).map { $0["name"] as! String }
        #expect(features.contains("user_id") && features.contains("price"))
        #expect(try daemon.curl(["\(daemon.url)/healthz"]).output.contains("ok"))
    }

    /// GET and HEAD /healthz are answered by the transport from a prebuilt response (`StaticRoute`), and still
    /// counted in `funnel_requests_total`; another method gets 405 with `Allow` from the route table.
    @Test func livenessAnswersAreCounted() throws {
        let daemon = try RunningDaemon()
        func healthzCount(_ code: Int) throws -> Int {
            let exposition = try daemon.curl(["\(daemon.url)/metrics"]).output
            let prefix = "funnel_requests_total{route=\"/healthz\",code=\"\(code)\"} "
            let line = exposition.split(separator: "\n").first { $0.hasPrefix(prefix) }
            return line.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
        }
        let before = try healthzCount(200)
        for flags in [["--http2-prior-knowledge"], ["--http1.1"], ["--http2-prior-knowledge", "--head"]] {
            let probe = try daemon.curl(flags + ["-o", "/dev/null", "-w", "%{http_code}", "\(daemon.url)/healthz"])
            #expect(probe.output == "200")
        }
        #expect(try healthzCount(200) == before + 3)
        let refused = try daemon.curl(["--http2-prior-knowledge", "-i", "-X", "DELETE", "\(daemon.url)/healthz"]).output
        #expect(refused.hasPrefix("HTTP/2 405") && refused.contains("allow: GET, HEAD\r\n"), "\(refused)")
        #expect(try healthzCount(405) == 1)
    }

    @Test func reloadsUnderLoadWithoutAFailedRequest() throws {
        let daemon = try RunningDaemon()
        let bodyFile = daemon.directory + "/body.json"
        try Data(scoreBody(candidates: 50).utf8).write(to: URL(fileURLWithPath: bodyFile))
        let load = Process()
        load.executableURL = URL(fileURLWithPath: "/usr/bin/h2load")
        load.arguments = [
            "-D", "4", "-c", "4", "-m", "8", "-d", bodyFile, "-H", "content-type: application/json",
            "\(daemon.url)/v1/score",
        ]
        let output = Pipe()
        load.standardOutput = output
        try load.run()
        usleep(500_000)
        try daemon.placeModel(version: 2)
        daemon.signal(SIGHUP)
        usleep(800_000)
        var corrupt = try Data(contentsOf: URL(fileURLWithPath: RunningDaemon.defaultModel))
        corrupt[corrupt.count / 3] ^= 0x77
        try daemon.placeModel(version: 3, bytes: corrupt)
        daemon.signal(SIGHUP)
        usleep(800_000)
        try daemon.placeModel(version: 4, bytes: corrupt.prefix(corrupt.count / 2))  // truncated
        daemon.signal(SIGHUP)
        let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        load.waitUntilExit()
        #expect(report.contains(" 0 failed, 0 errored"), "\(report)")
        #expect(!report.contains(" 0 succeeded"))
        let version = try json(try daemon.score(scoreBody(candidates: 1)).body)["model"] as! [String: Any]
        #expect(version["version"] as? Int == 2)
        let metrics = try daemon.curl(["\(daemon.url)/metrics"]).output
        #expect(metrics.contains("funnel_model_reloads_total{result=\"failure\"} 2"), "\(metrics)")
    }

    @Test func sigtermAnswersInFlightRequestsThenExitsZero() throws {
        let daemon = try RunningDaemon(settings: ["batch_timeout_micros": 700_000, "num_batch_threads": 1])
        let body = daemon.directory + "/b.json"
        try Data(scoreBody(candidates: 10).utf8).write(to: URL(fileURLWithPath: body))
        let inFlight = Process()
        inFlight.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        inFlight.arguments = [
            "-s", "-w", "\n%{http_code}", "--http2-prior-knowledge", "-H", "content-type: application/json",
            "--data-binary", "@" + body, "\(daemon.url)/v1/score",
        ]
        let output = Pipe()
        inFlight.standardOutput = output
        try inFlight.run()
        usleep(200_000)  // the request now waits in the queue
        daemon.signal(SIGTERM)
        let answer = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        inFlight.waitUntilExit()
        #expect(answer.hasSuffix("\n200"), "\(answer)")
        #expect(daemon.waitForExit(timeout: 15) == 0)
        let refused = try run("/usr/bin/curl", ["-s", "--max-time", "5", "\(daemon.url)/healthz"])
        #expect(refused.status == 7)  // connection refused
    }

    @Test func notifiesSystemdWhenListeningAndWhenDraining() throws {
        let socketPath = NSTemporaryDirectory() + "funnel-notify-\(UUID().uuidString.prefix(8))"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer {
            close(fd)
            unlink(socketPath)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(socketPath.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        func nextMessage() -> String {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &buffer, buffer.count, 0)
            return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : ""
        }
        let daemon = try RunningDaemon(environment: ["NOTIFY_SOCKET": socketPath])
        let ready = nextMessage()
        #expect(ready.split(separator: "\n").contains("READY=1"), "\(ready)")
        #expect(ready.contains("STATUS=listening on port \(daemon.port), serving funnel-student v1"), "\(ready)")
        daemon.signal(SIGTERM)
        #expect(nextMessage().hasPrefix("STOPPING=1"))
        #expect(daemon.waitForExit(timeout: 15) == 0)
    }

    @Test func tlsNegotiatesH2AndHTTP1WithALPN() throws {
        let directory = NSTemporaryDirectory() + "funnel-tls-\(UUID())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let generated = try run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj",
                "/CN=127.0.0.1", "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
            ])
        #expect(generated.status == 0, "\(generated.error)")
        let daemon = try RunningDaemon(settings: [
            "tls_certificate": directory + "/cert.pem", "tls_private_key": directory + "/key.pem",
        ])
        for (flag, version) in [("--http2", "2"), ("--http1.1", "1.1")] {
            let result = try daemon.score(scoreBody(candidates: 2), flags: [flag])
            #expect(result.status == 200, "\(flag): \(result)")
            let probe = try daemon.curl([
                flag, "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "\(daemon.url)/healthz",
            ])
            #expect(probe.output == "\(version) 200")
        }
    }

    @Test func gzipBothWays() throws {
        let daemon = try RunningDaemon()
        let plain = daemon.directory + "/body.json"
        try Data(scoreBody(candidates: 40).utf8).write(to: URL(fileURLWithPath: plain))
        #expect(try run("/usr/bin/gzip", ["-k", plain]).status == 0)
        let result = try daemon.curl([
            "--http2-prior-knowledge", "--compressed", "-D", "-", "-H", "content-type: application/json", "-H",
            "content-encoding: gzip", "--data-binary", "@" + plain + ".gz", "\(daemon.url)/v1/score",
        ])
        #expect(result.output.contains("content-encoding: gzip"))
        #expect(result.output.contains("\"item-39\""))
        let bomb = Data(count: 64 << 20)  // 64 MiB of zeros → 64 KiB gzipped, beyond the inflated limit
        try bomb.write(to: URL(fileURLWithPath: daemon.directory + "/bomb"))
        #expect(try run("/usr/bin/gzip", [daemon.directory + "/bomb"]).status == 0)
        let rejected = try daemon.curl([
            "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}", "-H", "content-encoding: gzip",
            "-H", "content-type: application/json", "--data-binary", "@" + daemon.directory + "/bomb.gz",
            "\(daemon.url)/v1/score",
        ])
        #expect(rejected.output == "413")
    }
}
