import CNghttp2
import Testing

@testable import HTTP2

/// HTTP/2 connection policy on the sans-I/O core alone, against a real nghttp2 client session in memory: bytes,
/// answers and clock readings in, frames and actions out; no socket, queue or sleep.
struct HTTP2ServerCoreTests {
    static let second: UInt64 = 1_000_000_000

    /// The core and a client, wired back to back; the test plays the application.
    final class Exchange {
        let core: HTTP2ServerCore
        let peer: HTTP2TestPeer
        var now: UInt64 = 1_000 * second
        /// Requests handed to the application, not answered yet.
        var dispatched: [(request: HTTPRequest, streamID: Int32, cancellation: RequestCancellation)] = []
        /// Every action but `dispatch`, as a short word: "error", "timeout", "goaway", "reset".
        var events: [String] = []
        var state = HTTP2ServerCore.OutputState.open

        init(configure: (inout HTTP2ServerCore.Configuration) -> Void = { _ in }, peer: HTTP2TestPeer = HTTP2TestPeer())
        {
            var configuration = HTTP2ServerCore.Configuration(
                maxConcurrentStreams: 8, maxHeaderListBytes: 4096, maxRequestBodyBytes: 1024,
                memoryBudget: MemoryBudget(limitBytes: 1 << 20), limits: .init(), readTimeoutNanos: 10 * second,
                stallTimeoutNanos: 60 * second,
                staticRoutes: [
                    StaticRoute(path: "/healthz", response: HTTPResponse(status: 200, body: Array("ok".utf8)))
                ])
            configure(&configuration)
            core = HTTP2ServerCore(configuration: configuration, now: now)!
            self.peer = peer
        }

        /// Moves bytes both ways until neither side has more to say.
        func pump() {
            for _ in 0..<64 {
                let toServer = peer.outgoing()
                if !toServer.isEmpty { toServer.withUnsafeBytes { core.receive($0, now: now) } }
                takeActions()
                var toClient: [UInt8] = []
                state = core.produceOutput(now: now, room: 1 << 20) { toClient.append(contentsOf: $0) }
                takeActions()
                if !toClient.isEmpty { peer.receive(toClient) }
                if toServer.isEmpty && toClient.isEmpty { return }
            }
            Issue.record("the exchange did not settle")
        }

        /// Raw bytes from the client side, outside the client session (frames it would never send).
        func inject(_ bytes: [UInt8]) {
            bytes.withUnsafeBytes { core.receive($0, now: now) }
            pump()
        }

        func takeActions() {
            while let action = core.nextAction() {
                switch action {
                case .dispatch(let request, let streamID, let cancellation):
                    dispatched.append((request, streamID, cancellation))
                case .protocolError: events.append("error")
                case .timedOut: events.append("timeout")
                case .sentGoAway: events.append("goaway")
                case .sentReset: events.append("reset")
                }
            }
        }

        /// Answers the oldest dispatched request.
        func answer(status: Int = 200, _ body: String) {
            let request = dispatched.removeFirst()
            core.deliver(HTTPResponse(status: status, body: Array(body.utf8)), to: request.streamID, now: now)
            pump()
        }
    }

    /// A frame the client session would not send: 9-byte header, then the payload.
    static func frame(type: UInt8, flags: UInt8 = 0, stream: Int32, payload: [UInt8]) -> [UInt8] {
        let length = payload.count
        let id = UInt32(stream)
        return [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, flags]
            + [UInt8(id >> 24), UInt8(id >> 16 & 0xff), UInt8(id >> 8 & 0xff), UInt8(id & 0xff)] + payload
    }

    @Test func aRequestIsDispatchedWithItsFieldsAndAnsweredOnItsStream() {
        let exchange = Exchange()
        let id = exchange.peer.request("POST", "/v1/score?debug=1", headers: [("x-a", "1")], body: Array("{}".utf8))
        exchange.pump()
        #expect(exchange.dispatched.count == 1)
        let request = exchange.dispatched[0].request
        #expect(request.method == "POST" && request.path == "/v1/score" && request.query == "debug=1")
        #expect(request.header("x-a") == "1" && request.header("host") == "core.test")  // :authority as host
        #expect(request.body == Array("{}".utf8) && request.version == .http2)
        #expect(exchange.core.openStreamCount == 1)
        exchange.answer("scored")
        #expect(exchange.peer[id].status == 200 && exchange.peer[id].text == "scored")
        #expect(exchange.peer[id].headers.contains { $0 == ("content-length", "6") })
        #expect(exchange.peer[id].closedWith == 0 && exchange.core.openStreamCount == 0)
    }

    /// gRPC's shape: DATA without END_STREAM, then a HEADERS frame of trailers that ends the stream; with no body,
    /// the trailers still come after the header block.
    @Test func trailersFollowTheBody() {
        let exchange = Exchange()
        let withBody = exchange.peer.request("POST", "/rpc", body: [1])
        let withoutBody = exchange.peer.request("POST", "/rpc", body: [2])
        exchange.pump()
        for (index, body) in [[UInt8](repeating: 7, count: 20_000), []].enumerated() {
            let request = exchange.dispatched.removeFirst()
            let response = HTTPResponse(status: 200, body: body, trailers: [("grpc-status", "\(index)")])
            exchange.core.deliver(response, to: request.streamID, now: exchange.now)
            exchange.pump()
        }
        #expect(exchange.peer[withBody].body.count == 20_000 && exchange.peer[withBody].closedWith == 0)
        #expect(exchange.peer[withBody].trailers.map(\.value) == ["0"])
        #expect(
            exchange.peer[withoutBody].body.isEmpty
                && exchange.peer[withoutBody].trailers.map(\.name) == ["grpc-status"])
        #expect(exchange.core.openStreamCount == 0)
    }

    @Test func aStaticRouteIsAnsweredByTheCoreWithoutTheApplication() {
        let exchange = Exchange()
        let get = exchange.peer.request("GET", "/healthz")
        let head = exchange.peer.request("HEAD", "/healthz")
        exchange.pump()
        #expect(exchange.dispatched.isEmpty)
        #expect(exchange.peer[get].status == 200 && exchange.peer[get].text == "ok")
        #expect(exchange.peer[head].status == 200 && exchange.peer[head].body.isEmpty)
        exchange.peer.request("POST", "/healthz", body: [])  // not a static method: the application decides
        exchange.pump()
        #expect(exchange.dispatched.count == 1)
    }

    @Test func headersOverTheLimitGet431WithoutReachingTheApplication() {
        let exchange = Exchange(configure: { $0.maxHeaderListBytes = 256 })
        let id = exchange.peer.request("GET", "/x", headers: [("x-big", String(repeating: "a", count: 300))])
        exchange.pump()
        #expect(exchange.dispatched.isEmpty && exchange.peer[id].status == 431)
    }

    @Test func aBodyOverTheLimitIsDrainedThenAnswered413() {
        let exchange = Exchange()
        let id = exchange.peer.request("POST", "/x", body: [UInt8](repeating: 1, count: 1500))
        exchange.pump()
        #expect(exchange.dispatched.isEmpty && exchange.peer[id].status == 413)
        #expect(exchange.peer[id].resetWith == nil)  // within the drainable remainder: no reset
    }

    @Test func aDeclaredBodyFarOverTheLimitIsAnsweredAtOnceAndReset() {
        let exchange = Exchange()
        let id = exchange.peer.request("POST", "/x", headers: [("content-length", "10000000")], endStream: false)
        exchange.pump()
        #expect(exchange.dispatched.isEmpty && exchange.peer[id].status == 413)
        #expect(exchange.peer[id].resetWith == NGHTTP2_NO_ERROR.rawValue)
    }

    @Test func theMemoryBudgetRefusesABodyWith503() {
        let exchange = Exchange(configure: { $0.memoryBudget = MemoryBudget(limitBytes: 100) })
        let id = exchange.peer.request("POST", "/x", body: [UInt8](repeating: 1, count: 500))
        exchange.pump()
        #expect(exchange.dispatched.isEmpty && exchange.peer[id].status == 503)
    }

    @Test func anIncompleteRequestGets408AtTheReadTimeoutAndNotBefore() {
        let exchange = Exchange()
        let id = exchange.peer.request("POST", "/x", body: [1, 2], endStream: false)
        exchange.pump()
        exchange.now += 10 * Self.second
        exchange.core.checkDeadlines(now: exchange.now)
        exchange.pump()
        #expect(exchange.peer[id].status == nil && exchange.events.isEmpty)
        exchange.now += 1
        exchange.core.checkDeadlines(now: exchange.now)
        exchange.pump()
        #expect(exchange.peer[id].status == 408 && exchange.events.contains("timeout"))
        #expect(exchange.dispatched.isEmpty)
    }

    @Test func aResponseStalledByAZeroWindowIsResetAtTheStallTimeout() {
        let exchange = Exchange(peer: HTTP2TestPeer(settings: [(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 0)]))
        let id = exchange.peer.request("GET", "/x")
        exchange.pump()
        exchange.answer("a body the client never opens its window for")
        #expect(exchange.peer[id].status == 200 && exchange.peer[id].body.isEmpty)
        exchange.now += 60 * Self.second + 1
        exchange.core.checkDeadlines(now: exchange.now)
        exchange.pump()
        #expect(exchange.peer[id].resetWith == NGHTTP2_CANCEL.rawValue && exchange.events.contains("timeout"))
        #expect(exchange.core.openStreamCount == 0)
    }

    @Test func aClientResetCancelsTheRequestAndALateAnswerIsDropped() {
        let exchange = Exchange()
        let id = exchange.peer.request("GET", "/slow")
        exchange.pump()
        let cancellation = exchange.dispatched[0].cancellation
        exchange.peer.reset(id)
        exchange.pump()
        #expect(cancellation.isCancelled && exchange.core.openStreamCount == 0)
        exchange.answer("too late")
        #expect(exchange.peer[id].status == nil)
    }

    @Test func gracefulShutdownAnswersOpenStreamsThenFinishes() {
        let exchange = Exchange()
        let id = exchange.peer.request("GET", "/x")
        exchange.pump()
        exchange.core.beginGracefulShutdown()
        exchange.pump()
        #expect(exchange.peer.goAway?.lastStreamID == id && exchange.peer.goAway?.errorCode == 0)
        #expect(exchange.state == .open)  // stream 1 still waits for its answer
        exchange.answer("last")
        #expect(exchange.peer[id].text == "last")
        #expect(exchange.state == .finished && exchange.core.openStreamCount == 0)
    }

    /// Only requests keep a connection: a client sending nothing but PINGs (each answered) must not reset the idle
    /// clock, or cheap connections could hold every slot.
    @Test func onlyRequestFramesCountAsActivity() {
        let exchange = Exchange()
        exchange.pump()
        let opened = exchange.core.lastRequestFrameAt
        for _ in 0..<3 {
            exchange.now += Self.second
            exchange.peer.ping()
            exchange.pump()
        }
        #expect(exchange.core.lastRequestFrameAt == opened)
        exchange.now += Self.second
        exchange.peer.request("GET", "/healthz")
        exchange.pump()
        #expect(exchange.core.lastRequestFrameAt == exchange.now)
    }

    @Test func anIdleConnectionIsClosedWithGoAwayNoError() {
        let exchange = Exchange()
        exchange.pump()
        exchange.core.closeIdle()
        exchange.pump()
        #expect(exchange.peer.goAway?.errorCode == NGHTTP2_NO_ERROR.rawValue && exchange.state == .finished)
    }

    @Test func peersThatKeepProvokingStreamErrorsLoseTheConnection() {
        let exchange = Exchange(configure: { $0.limits.maxInvalidFrames = 2 })
        exchange.pump()
        // A connection-specific field is malformed in HTTP/2 (RFC 9113 §8.2.2): a stream error each time,
        // answered with RST_STREAM; the third one is over the limit.
        for _ in 0..<3 {
            exchange.peer.request("GET", "/x", headers: [("connection", "keep-alive")])
            exchange.pump()
        }
        #expect(exchange.dispatched.isEmpty)
        #expect(exchange.events.filter { $0 == "error" }.count >= 3)
        #expect(exchange.peer.goAway?.errorCode == NGHTTP2_ENHANCE_YOUR_CALM.rawValue)
        #expect(exchange.state == .finished)
    }

    @Test func aBrokenPrefaceEndsTheSessionWithAProtocolError() {
        let exchange = Exchange()
        exchange.inject(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        #expect(exchange.events.contains("error") && exchange.state == .finished)
        exchange.peer.request("GET", "/x")
        exchange.pump()
        #expect(exchange.dispatched.isEmpty)  // nothing more is read
    }

    @Test func aClosedConnectionCancelsUnansweredRequests() {
        let exchange = Exchange()
        exchange.peer.request("GET", "/a")
        exchange.peer.request("GET", "/b")
        exchange.pump()
        exchange.answer("a")
        let pending = exchange.dispatched[0].cancellation
        exchange.core.connectionClosed()
        #expect(pending.isCancelled && exchange.core.openStreamCount == 0)
        #expect(exchange.core.produceOutput(now: exchange.now, room: 1 << 20) { _ in } == .finished)
    }

    @Test func theUpgradedRequestIsStreamOne() {
        let exchange = Exchange()
        let request = HTTPRequest(method: "GET", path: "/up", query: nil, headers: [], version: .http1)
        #expect(exchange.core.acceptUpgrade(settingsPayload: [], request: request))
        exchange.takeActions()
        #expect(exchange.dispatched.map(\.streamID) == [1] && exchange.dispatched[0].request.path == "/up")
        let refused = Exchange()
        #expect(!refused.core.acceptUpgrade(settingsPayload: [1, 2, 3], request: request))  // not a SETTINGS payload
        refused.takeActions()
        #expect(refused.events == ["error"])
    }

    @Test func outputStopsAtTheRoomGivenAndResumesLater() {
        let exchange = Exchange()
        let id = exchange.peer.request("GET", "/x")
        exchange.pump()
        let big = String(repeating: "z", count: 40_000)
        exchange.core.deliver(HTTPResponse(status: 200, body: Array(big.utf8)), to: id, now: exchange.now)
        var first: [UInt8] = []
        _ = exchange.core.produceOutput(now: exchange.now, room: 1) { first.append(contentsOf: $0) }
        #expect(!first.isEmpty && first.count < 20_000)  // a frame or so, far from all of them
        exchange.peer.receive(first)
        exchange.pump()
        #expect(exchange.peer[id].text == big)
    }
}
