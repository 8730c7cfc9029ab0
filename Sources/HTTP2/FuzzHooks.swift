#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Logging

/// Entry points for the fuzz targets in `Tests/Fuzz` and their regression replays (no `@testable` needed, so
/// release + sanitizer builds can call them). Not part of the serving API: nothing in the daemon calls these.
public enum HTTP2FuzzHooks {
    /// The FuzzHTTP1 input: byte 0 picks a read size, the rest is what a client sent. The bytes go through the
    /// parser alone in pieces of that size, then (in reads of at least 512 bytes: each costs queue hops) into a
    /// server `Connection` with an echo handler.
    public static func runHTTP1Input(_ input: [UInt8]) {
        guard let selector = input.first else { return }
        let bytes = Array(input.dropFirst())
        let chunk = [Int.max, 1, 2, 3, 7, 16, 100, 1000][Int(selector) % 8]
        _ = parseHTTP1(bytes, chunkSize: chunk, maxHeaderBytes: 2048, maxBodyBytes: 4096)
        _ = feedConnection(pieces(bytes, max(chunk, 512)), handler: EchoHandler(), configuration: fuzzConfiguration)
    }

    /// The FuzzHTTP2 input: byte 0 picks a read size, the rest follows the client preface (so every input reaches
    /// nghttp2 and our callbacks). Returns the bytes the server wrote.
    @discardableResult
    public static func runHTTP2Input(_ input: [UInt8]) -> Int {
        guard let selector = input.first else { return 0 }
        let bytes = Connection.http2Preface + input.dropFirst()
        let chunk = [Int.max, 9, 64, 1000][Int(selector) % 4]
        return feedConnection(pieces(bytes, chunk), handler: EchoHandler(), configuration: fuzzConfiguration)
    }

    /// Small limits, so the fuzzer reaches them.
    private static let fuzzConfiguration: HTTPServerConfiguration = {
        var configuration = HTTPServerConfiguration()
        configuration.maxHeaderListBytes = 2048
        configuration.maxRequestBodyBytes = 4096
        configuration.memoryBudget = MemoryBudget(limitBytes: 64 * 1024)
        configuration.maxConcurrentStreams = 8
        configuration.gzipMinimumBytes = 64
        configuration.http2.maxInvalidFrames = 8
        configuration.http2.initialStreamWindowBytes = 8192
        return configuration
    }()

    /// Answers inline with the (inflated) request body echoed (so responses have DATA, flow control, trailers), 204
    /// for HEAD.
    private struct EchoHandler: HTTPHandler {
        func handle(
            _ request: HTTPRequest, cancellation: RequestCancellation, respond: @escaping @Sendable (HTTPResponse) -> Void
        ) {
            switch request.decodedBody(limit: 16384) {  // gzip bodies are inflated, as the daemon does
            case .success(let body):
                respond(
                    HTTPResponse(
                        status: request.method == "HEAD" ? 204 : 200, headers: [("x-path", request.path)], body: body))
            case .failure(let error):
                respond(error.response)
            }
        }
    }

    private static func pieces(_ bytes: [UInt8], _ size: Int) -> [[UInt8]] {
        stride(from: 0, to: bytes.count, by: max(1, min(size, bytes.count))).map {
            Array(bytes[$0..<min($0 &+ size, bytes.count)])
        }
    }

    /// Runs the sans-I/O HTTP/1.1 parser over `bytes`, appended in pieces of `chunkSize` bytes, until it needs
    /// more input or fails. Traps (`precondition`) if the parser breaks its own contract: an event after
    /// `.error`, or more events than could possibly be produced from the input. Returns the number of events.
    public static func parseHTTP1(_ bytes: [UInt8], chunkSize: Int, maxHeaderBytes: Int = 1024, maxBodyBytes: Int = 4096)
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

    /// Feeds `chunks` of raw bytes, as if read from one socket, into a server `Connection` (protocol detection,
    /// HTTP/1.1 driver or nghttp2 session, upgrade) with `handler` as the application, then runs its deadline
    /// check and a graceful shutdown and closes it. Output goes to a non-blocking socketpair whose far end is
    /// drained and discarded after every chunk. No listener, no event loop running: everything runs synchronously
    /// on the connection's queue. Returns the number of bytes the server wrote.
    public static func feedConnection(
        _ chunks: [[UInt8]], handler: any HTTPHandler, configuration: HTTPServerConfiguration = HTTPServerConfiguration()
    ) -> Int {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { return 0 }
        defer {
            _ = Glibc.close(fds[0])
            _ = Glibc.close(fds[1])
        }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        let context = ServerContext(
            configuration: configuration, handler: handler,
            logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }), counters: ServerCounters(),
            tls: nil)
        guard let loop = EventLoop(label: "fuzz") else { return 0 }  // never started: nothing is watched
        let connection = Connection(fd: fds[0], peer: "fuzz", context: context, loop: loop) { _ in }
        var written = 0
        for chunk in chunks {
            connection.queue.sync { chunk.withUnsafeBytes { connection.received($0) }; connection.flush() }
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
