import Dispatch
import Logging

@testable import HTTP2

#if canImport(Glibc)
    import Glibc
#endif

/// What the HTTP fuzz targets (`Tests/Fuzz`) and their replays (`HTTP2Tests/FuzzRegressionTests`) run: raw client
/// bytes through the protocol cores (`HTTP1ServerCore`, `HTTP2ServerCore`), then through a whole `Connection`.
/// Returns what happened, so the fuzz targets trap on a broken invariant and the replays state the same ones.
public enum HTTPFuzzHarness {
    public struct Outcome {
        /// Requests handed to the application.
        public var requests = 0
        /// Bytes the server wrote, over every pass.
        public var bytesWritten = 0
        /// Requests still unanswered when the connection closed whose cancellation was not signalled: work nobody
        /// would ever stop. Must be 0.
        public var leftHanging = 0
        /// HTTP/1.1 bytes written after the core asked to close. Must be 0.
        public var writesAfterClose = 0
    }

    /// The FuzzHTTP1 input: byte 0 picks a read size, the rest is what a client sent. The bytes go through the
    /// parser alone, then the HTTP/1.1 core (and the HTTP/2 core after an h2c upgrade), in pieces of that size,
    /// then (in reads of at least 512 bytes: each costs queue hops) into a server `Connection`.
    public static func runHTTP1Input(_ input: [UInt8]) -> Outcome {
        guard let selector = input.first else { return Outcome() }
        let bytes = Array(input.dropFirst())
        let chunk = [Int.max, 1, 2, 3, 7, 16, 100, 1000][Int(selector) % 8]
        _ = parseHTTP1(bytes, chunkSize: chunk, maxHeaderBytes: 2048, maxBodyBytes: 4096)
        var outcome = driveHTTP1Core(pieces(bytes, chunk))
        outcome.bytesWritten += feedConnection(pieces(bytes, max(chunk, 512)))
        return outcome
    }

    /// The FuzzHTTP2 input: byte 0 picks a read size and how much output room the core gets, the rest follows the
    /// client preface (so every input reaches nghttp2 and the core's callbacks). The bytes go through the HTTP/2
    /// core, then into a server `Connection`.
    public static func runHTTP2Input(_ input: [UInt8]) -> Outcome {
        guard let selector = input.first else { return Outcome() }
        let bytes = Connection.http2Preface + input.dropFirst()
        let chunk = [Int.max, 9, 64, 1000][Int(selector) % 4]
        let room = [1 << 20, 1, 100, 16384][Int(selector / 4) % 4]
        var outcome = Outcome()
        guard let core = HTTP2ServerCore(configuration: http2Configuration, now: start) else { return outcome }
        driveHTTP2Core(core, pieces(bytes, chunk), room: room, into: &outcome)
        outcome.bytesWritten += feedConnection(pieces(bytes, chunk))
        return outcome
    }

    /// Small limits, so the fuzzer reaches them.
    private static let configuration: HTTPServerConfiguration = {
        var configuration = HTTPServerConfiguration()
        configuration.maxHeaderListBytes = 2048
        configuration.maxRequestBodyBytes = 4096
        configuration.memoryBudget = MemoryBudget(limitBytes: 64 * 1024)
        configuration.maxConcurrentStreams = 8
        configuration.maxPipelinedRequests = 4
        configuration.gzipMinimumBytes = 64
        configuration.http2.maxInvalidFrames = 8
        configuration.http2.initialStreamWindowBytes = 8192
        return configuration
    }()

    private static let staticRoutes = [StaticRoute(path: "/healthz", response: HTTPResponse(status: 200, body: [0x6f]))]
    private static let second: UInt64 = 1_000_000_000
    /// The cores' clock: any origin; a deadline check runs an hour later.
    private static let start: UInt64 = 1_000 * second

    private static let http2Configuration = HTTP2ServerCore.Configuration(
        maxConcurrentStreams: configuration.maxConcurrentStreams, maxHeaderListBytes: configuration.maxHeaderListBytes,
        maxRequestBodyBytes: configuration.maxRequestBodyBytes, memoryBudget: configuration.memoryBudget,
        limits: configuration.http2, readTimeoutNanos: 10 * second, stallTimeoutNanos: 60 * second,
        staticRoutes: staticRoutes)

    /// The inflated request body echoed (so responses have DATA, flow control, trailers), 204 for HEAD.
    private static func echo(_ request: HTTPRequest) -> HTTPResponse {
        switch request.decodedBody(limit: 16384) {  // gzip bodies are inflated, as the daemon does
        case .success(let body):
            HTTPResponse(status: request.method == "HEAD" ? 204 : 200, headers: [("x-path", request.path)], body: body)
        case .failure(let error):
            error.response
        }
    }

    // MARK: Cores

    /// Every other request is answered at once; the rest wait (answered in reverse order after each read, so
    /// pipelined answers arrive out of order), and the last ones are left for the connection's close to cancel.
    private static func driveHTTP1Core(_ chunks: [[UInt8]]) -> Outcome {
        var core = HTTP1ServerCore(
            configuration: .init(
                maxHeaderBytes: configuration.maxHeaderListBytes, maxBodyBytes: configuration.maxRequestBodyBytes,
                maxPipelinedRequests: configuration.maxPipelinedRequests, readTimeoutNanos: 10 * second,
                memoryBudget: configuration.memoryBudget, allowsUpgrade: true, staticRoutes: staticRoutes))
        var outcome = Outcome()
        var closing = false
        var waiting: [(request: HTTPRequest, sequence: UInt64, cancellation: RequestCancellation)] = []
        var upgraded: HTTP2ServerCore?
        var leftover: [UInt8] = []

        // Like the shell, which hops to its queue with each answer: a list of actions is carried out in full
        // before the next call into the core. Answering inside the loop would write that answer before the
        // list's own later writes (found by FuzzHTTP1: a static route's answer then followed the close).
        func perform(_ actions: [HTTP1ServerCore.Action]) {
            var answerNow: [(request: HTTPRequest, sequence: UInt64)] = []
            defer {
                for answer in answerNow {
                    perform(core.deliver(echo(answer.request), sequence: answer.sequence, now: start))
                }
            }
            for action in actions {
                switch action {
                case .write(let bytes):
                    if closing { outcome.writesAfterClose += bytes.count }
                    outcome.bytesWritten += bytes.count
                case .dispatch(let request, let sequence, let cancellation):
                    outcome.requests += 1
                    if outcome.requests % 2 == 1 {
                        answerNow.append((request, sequence))
                    } else {
                        waiting.append((request, sequence, cancellation))
                    }
                case .upgrade(let head, let settings):
                    let request = HTTPRequest(
                        method: head.method, path: head.path, query: head.query, headers: head.headers, version: .http1)
                    if let core2 = HTTP2ServerCore(configuration: http2Configuration, now: start),
                        core2.acceptUpgrade(settingsPayload: settings, request: request)
                    {
                        upgraded = core2
                        leftover = core.upgradeAccepted()
                        return
                    }
                    perform(core.upgradeRefused(now: start))
                case .closeAfterWriting: closing = true
                case .protocolError, .rejected, .timedOut: break
                }
            }
        }

        for (index, chunk) in chunks.enumerated() {
            if let upgraded {
                driveHTTP2Core(upgraded, [leftover] + chunks[index...], room: 1 << 20, into: &outcome)
                return outcome
            }
            perform(chunk.withUnsafeBytes { core.receive($0, now: start) })
            while waiting.count > 1 {
                let answer = waiting.removeLast()
                perform(core.deliver(echo(answer.request), sequence: answer.sequence, now: start))
            }
        }
        if let upgraded {
            driveHTTP2Core(upgraded, [leftover], room: 1 << 20, into: &outcome)
            return outcome
        }
        perform(core.checkDeadlines(now: start + 3600 * second))
        perform(core.beginGracefulShutdown())
        core.connectionClosed()
        outcome.leftHanging += waiting.count { !$0.cancellation.isCancelled }
        return outcome
    }

    /// Feeds `chunks` to an HTTP/2 core, taking `room` bytes of output after each; requests are answered as in
    /// `driveHTTP1Core`. Then a deadline check an hour later, a graceful shutdown, and the close.
    private static func driveHTTP2Core(
        _ core: HTTP2ServerCore, _ chunks: [[UInt8]], room: Int, into outcome: inout Outcome
    ) {
        var waiting: [(streamID: Int32, cancellation: RequestCancellation)] = []
        var state = HTTP2ServerCore.OutputState.open

        func step(now: UInt64) {
            while let action = core.nextAction() {
                guard case .dispatch(let request, let streamID, let cancellation) = action else { continue }
                outcome.requests += 1
                if outcome.requests % 2 == 1 {
                    core.deliver(echo(request), to: streamID, now: now)
                } else {
                    waiting.append((streamID, cancellation))
                }
            }
            state = core.produceOutput(now: now, room: room) { outcome.bytesWritten += $0.count }
            while core.nextAction() != nil {}  // what was sent, for the logs
        }

        for chunk in chunks where state == .open {
            chunk.withUnsafeBytes { core.receive($0, now: start) }
            step(now: start)
            while waiting.count > 1 {
                let answer = waiting.removeLast()
                core.deliver(HTTPResponse(status: 200, body: [1, 2, 3]), to: answer.streamID, now: start)
            }
        }
        if state == .open {
            core.checkDeadlines(now: start + 3600 * second)
            step(now: start + 3600 * second)
            core.beginGracefulShutdown()
            step(now: start + 3600 * second)
        }
        core.connectionClosed()
        outcome.leftHanging += waiting.count { !$0.cancellation.isCancelled }
    }

    private static func pieces(_ bytes: [UInt8], _ size: Int) -> [[UInt8]] {
        stride(from: 0, to: bytes.count, by: max(1, min(size, bytes.count))).map {
            Array(bytes[$0..<min($0 &+ size, bytes.count)])
        }
    }

    // MARK: Parser

    /// Runs the sans-I/O HTTP/1.1 parser over `bytes`, appended in pieces of `chunkSize` bytes, until it needs
    /// more input or fails. Traps (`precondition`) if the parser breaks its own contract: an event after
    /// `.error`, or more events than could possibly be produced from the input. Returns the number of events.
    public static func parseHTTP1(
        _ bytes: [UInt8], chunkSize: Int, maxHeaderBytes: Int = 1024, maxBodyBytes: Int = 4096
    )
        -> Int
    {
        var parser = HTTP1Parser(maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
        let step = max(1, chunkSize)
        var events = 0
        var failed = false
        for start in stride(from: 0, to: bytes.count, by: step) {
            bytes[start..<min(start + step, bytes.count)].withUnsafeBytes { parser.append($0) }
            while let event = parser.next() {
                precondition(!failed, "HTTP1Parser produced an event after .error")
                events += 1
                // Every event consumes at least one byte except .end and .error; bound them all generously.
                precondition(events <= 3 * bytes.count + 3, "HTTP1Parser produced more events than input allows")
                if case .error = event { failed = true }
            }
        }
        return events
    }

    // MARK: Connection

    /// Answers inline with the request echoed, like the cores' application above.
    private struct EchoHandler: HTTPHandler {
        func handle(
            _ request: HTTPRequest, cancellation: RequestCancellation,
            respond: @escaping @Sendable (HTTPResponse) -> Void
        ) {
            respond(HTTPFuzzHarness.echo(request))
        }
    }

    /// Feeds `chunks` of raw bytes, as if read from one socket, into a server `Connection` (protocol detection,
    /// the shells around the cores, upgrade, output queue), then runs its deadline check and a graceful shutdown
    /// and closes it. Output goes to a non-blocking socketpair whose far end is drained and discarded after every
    /// chunk. No listener, no event loop running: everything runs synchronously on the connection's queue.
    /// Returns the number of bytes the server wrote.
    static func feedConnection(_ chunks: [[UInt8]]) -> Int {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { return 0 }
        defer {
            _ = Glibc.close(fds[0])
            _ = Glibc.close(fds[1])
        }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        let context = ServerContext(
            configuration: configuration, handler: EchoHandler(),
            logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }), counters: ServerCounters(),
            tls: nil)
        guard let loop = EventLoop(label: "fuzz") else { return 0 }  // never started: nothing is watched
        let connection = Connection(fd: fds[0], peer: "fuzz", context: context, loop: loop) { _ in }
        var written = 0
        for chunk in chunks {
            connection.queue.sync {
                chunk.withUnsafeBytes { connection.received($0) }
                connection.flush()
            }
            connection.queue.sync {}  // answers delivered with `queue.async`
            written += drain(fds[1])
        }
        connection.queue.sync {
            connection.driver?.checkDeadlines(now: connection.now &+ 3_600_000_000_000)
            connection.driver?.beginGracefulShutdown()
            connection.flush()
        }
        written += drain(fds[1])
        connection.queue.sync { connection.close() }
        return written
    }

    private static func drain(_ fd: Int32) -> Int {
        withUnsafeTemporaryAllocation(byteCount: 64 * 1024, alignment: 16) { buffer in
            var total = 0
            while true {
                let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
                guard count > 0 else { return total }
                total += count
            }
        }
    }
}
