#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Logging

/// Entry points for the fuzz targets in `Tests/Fuzz` and their regression replays (no `@testable` needed, so
/// release + sanitizer builds can call them). Not part of the serving API: nothing in the daemon calls these.
public enum HTTP2FuzzHooks {
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
    /// drained and discarded after every chunk. No listener, no Dispatch sources: everything runs synchronously
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
        let connection = Connection(fd: fds[0], peer: "fuzz", context: context) { _ in }
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
