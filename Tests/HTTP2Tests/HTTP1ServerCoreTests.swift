import Testing

@testable import HTTP2

/// HTTP/1.1 connection policy on the sans-I/O core alone: bytes, answers and clock readings in, actions out; no
/// socket, queue or sleep.
struct HTTP1ServerCoreTests {
    static let second: UInt64 = 1_000_000_000

    static func core(
        pipeline: Int = 16, maxBody: Int = 1024, staticRoutes: [StaticRoute] = [], allowsUpgrade: Bool = true
    ) -> HTTP1ServerCore {
        HTTP1ServerCore(
            configuration: .init(
                maxHeaderBytes: 4096, maxBodyBytes: maxBody, maxPipelinedRequests: pipeline,
                readTimeoutNanos: 10 * second, memoryBudget: MemoryBudget(limitBytes: 1 << 20),
                allowsUpgrade: allowsUpgrade, staticRoutes: staticRoutes))
    }

    /// The actions as short strings: "write <first line>", "dispatch <seq> <method> <path>", "upgrade", "close",
    /// "error", "rejected", "timeout".
    static func describe(_ actions: [HTTP1ServerCore.Action]) -> [String] {
        actions.map { action in
            switch action {
            case .write(let bytes):
                "write " + String(decoding: bytes, as: UTF8.self).split(separator: "\r\n", maxSplits: 1)[0]
            case .dispatch(let request, let sequence, _): "dispatch \(sequence) \(request.method) \(request.path)"
            case .upgrade: "upgrade"
            case .closeAfterWriting: "close"
            case .protocolError: "error"
            case .rejected: "rejected"
            case .timedOut: "timeout"
            }
        }
    }

    static func feed(_ core: inout HTTP1ServerCore, _ text: String, now: UInt64 = 0) -> [String] {
        var bytes = Array(text.utf8)
        return describe(bytes.withUnsafeMutableBytes { core.receive(UnsafeRawBufferPointer($0), now: now) })
    }

    static func answer(_ core: inout HTTP1ServerCore, _ sequence: UInt64, _ body: String) -> [String] {
        describe(core.deliver(HTTPResponse(status: 200, body: Array(body.utf8)), sequence: sequence, now: 0))
    }

    @Test func pipelinedAnswersLeaveInRequestOrder() {
        var core = Self.core()
        let text = "GET /a HTTP/1.1\r\nhost: x\r\n\r\nGET /b HTTP/1.1\r\nhost: x\r\n\r\n"
        #expect(
            Self.feed(&core, text) == [
                "dispatch 0 GET /a", "dispatch 1 GET /b",
            ])
        #expect(core.requestsWithTheApplication == 2)
        #expect(Self.answer(&core, 1, "second").isEmpty)  // held back behind request 0
        #expect(Self.answer(&core, 0, "first") == ["write HTTP/1.1 200 OK", "write HTTP/1.1 200 OK"])
        #expect(core.requestsWithTheApplication == 0 && !core.hasOpenRequests)
    }

    @Test func aFullPipelineStopsReadingUntilAnAnswerLeaves() {
        var core = Self.core(pipeline: 2)
        let get = "GET / HTTP/1.1\r\nhost: x\r\n\r\n"
        #expect(Self.feed(&core, get + get + get) == ["dispatch 0 GET /", "dispatch 1 GET /"])
        #expect(!core.wantsInput)
        #expect(Self.answer(&core, 0, "a") == ["write HTTP/1.1 200 OK", "dispatch 2 GET /"])
        #expect(!core.wantsInput)
        _ = Self.answer(&core, 1, "b")
        #expect(core.wantsInput)
    }

    @Test func aSlowRequestTimesOutWith408AndClose() {
        var core = Self.core()
        #expect(Self.feed(&core, "GET / HTTP/1.1\r\nhost:", now: 5 * Self.second).isEmpty)
        #expect(Self.describe(core.checkDeadlines(now: 14 * Self.second)).isEmpty)
        #expect(
            Self.describe(core.checkDeadlines(now: 16 * Self.second)) == [
                "timeout", "write HTTP/1.1 408 Request Timeout", "close",
            ])
        #expect(Self.feed(&core, " x\r\n\r\n").isEmpty)  // nothing more is read
    }

    @Test func continueOnlyForABodyWithinTheLimit() {
        var core = Self.core(maxBody: 10)
        let small = "POST /a HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n"
        #expect(Self.feed(&core, small) == ["write HTTP/1.1 100 Continue"])
        #expect(Self.feed(&core, "hello") == ["dispatch 0 POST /a"])
        var large = Self.core(maxBody: 10)
        let big = "POST /a HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 50\r\n\r\n"
        #expect(Self.feed(&large, big) == ["rejected", "write HTTP/1.1 413 Content Too Large", "close"])
    }

    @Test func shutdownClosesAfterTheAnswerInFlight() {
        var core = Self.core()
        #expect(Self.feed(&core, "GET /a HTTP/1.1\r\nhost: x\r\n\r\n") == ["dispatch 0 GET /a"])
        #expect(Self.describe(core.beginGracefulShutdown()).isEmpty)
        var actions = core.deliver(HTTPResponse(status: 200), sequence: 0, now: 0)
        #expect(Self.describe(actions) == ["write HTTP/1.1 200 OK", "close"])
        guard case .write(let bytes) = actions.removeFirst() else { return }
        #expect(String(decoding: bytes, as: UTF8.self).lowercased().contains("connection: close"))
        var idle = Self.core()
        #expect(Self.describe(idle.beginGracefulShutdown()) == ["close"])
    }

    @Test func staticRoutesAreAnsweredInOrderWithoutTheApplication() {
        let route = StaticRoute(path: "/healthz", response: HTTPResponse(status: 200, body: Array("ok".utf8)))
        var core = Self.core(staticRoutes: [route])
        let text = "GET /slow HTTP/1.1\r\nhost: x\r\n\r\nGET /healthz HTTP/1.1\r\nhost: x\r\n\r\n"
        #expect(Self.feed(&core, text) == ["dispatch 0 GET /slow"])  // the static answer waits its turn
        #expect(Self.answer(&core, 0, "slow") == ["write HTTP/1.1 200 OK", "write HTTP/1.1 200 OK"])
        #expect(route.servedCount == 1)
        #expect(Self.feed(&core, "GET /healthz?x=1 HTTP/1.1\r\nhost: x\r\n\r\n") == ["dispatch 2 GET /healthz"])
    }

    @Test func aRefusedUpgradeIsAnsweredOverHTTP1() {
        var core = Self.core()
        let request =
            "GET /u HTTP/1.1\r\nhost: x\r\nconnection: Upgrade, HTTP2-Settings\r\nupgrade: h2c\r\n"
            + "http2-settings: AAMAAABkAAQAAP__\r\n\r\n"
        #expect(Self.feed(&core, request) == ["upgrade"])
        #expect(Self.describe(core.upgradeRefused(now: 0)) == ["dispatch 0 GET /u"])
        var tls = Self.core(allowsUpgrade: false)
        #expect(Self.feed(&tls, request) == ["dispatch 0 GET /u"])
    }

    @Test func closingCancelsTheApplicationsWork() {
        var core = Self.core()
        var bytes = Array("GET /a HTTP/1.1\r\nhost: x\r\n\r\n".utf8)
        let actions = bytes.withUnsafeMutableBytes { core.receive(UnsafeRawBufferPointer($0), now: 0) }
        guard case .dispatch(_, _, let cancellation) = actions.first else {
            Issue.record("no dispatch")
            return
        }
        #expect(!cancellation.isCancelled)
        core.connectionClosed()
        #expect(cancellation.isCancelled && core.requestsWithTheApplication == 0)
    }

    @Test func malformedInputIsAnswered400AndCloses() {
        var core = Self.core()
        #expect(
            Self.feed(&core, "GET / HTTP/1.1\r\nbad header\r\n\r\n") == [
                "error", "write HTTP/1.1 400 Bad Request", "close",
            ])
        #expect(!core.wantsInput)
    }
}
