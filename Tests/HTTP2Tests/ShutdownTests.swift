import Foundation
import HTTP2
import Testing

/// Graceful shutdown: in-flight requests are answered, then the port refuses connections.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ShutdownTests {
    @Test(arguments: ["--http2-prior-knowledge", "--http1.1"])
    func inFlightRequestIsAnsweredThenNewConnectionsAreRefused(flag: String) throws {
        let server = try TestServer()
        let inFlight = try Command.start(
            "/usr/bin/curl", ["-sS", "--max-time", "30", flag, "-w", " %{http_code}", "\(server.base)/delay?ms=1000"])
        #expect(eventually { server.server.openStreams == 1 })
        let started = Date()
        #expect(server.stop(grace: .seconds(20)))
        #expect(Date().timeIntervalSince(started) < 15)
        inFlight.process.waitUntilExit()
        let result = inFlight.result()
        #expect(result.status == 0, "\(result.error)")
        #expect(result.text == "delayed 200")
        let refused = try Command.curl([flag, "\(server.base)/echo"], timeout: 5)
        #expect(refused.status == 7)  // curl: failed to connect
        #expect(server.server.openConnections == 0)
    }

    @Test func gracePeriodForceClosesHungRequests() throws {
        let server = try TestServer()
        let hung = try Command.start(
            "/usr/bin/curl", ["-sS", "--max-time", "30", "--http2-prior-knowledge", "\(server.base)/hang"])
        #expect(eventually { server.handler.hangingCount == 1 })
        let started = Date()
        #expect(server.stop(grace: .milliseconds(500)))
        #expect(Date().timeIntervalSince(started) < 10)
        hung.process.waitUntilExit()
        #expect(hung.process.terminationStatus != 0)
        #expect(server.handler.hangingCancelledCount == 1)
    }

    @Test func idleConnectionsCloseAtOnce() throws {
        let server = try TestServer()
        let client = try #require(RawClient(port: server.port))
        client.send("GET /echo HTTP/1.1\r\nHost: t\r\n\r\n")
        _ = client.receiveText(until: "x-version")
        #expect(eventually { server.server.openStreams == 0 })
        let started = Date()
        #expect(server.stop(grace: .seconds(20)))
        #expect(Date().timeIntervalSince(started) < 5)
    }
}
