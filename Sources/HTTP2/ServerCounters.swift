import Synchronization

/// Counters shared by the server and its connections; read at any time from any thread for metrics.
/// Relaxed ordering: they are statistics, nothing synchronises on them.
final class ServerCounters: Sendable {
    let openConnections = Atomic<Int>(0)
    /// In-flight requests across HTTP/1.1 and HTTP/2 (from first header to answer sent or stream closed).
    let openStreams = Atomic<Int>(0)
    let acceptedConnections = Atomic<Int>(0)
    /// Closed right after accept because `maxConnections` were open (or the server was shutting down).
    let rejectedConnections = Atomic<Int>(0)
    /// Malformed input of any protocol: bad h1 syntax, h2 connection/stream errors, TLS failures.
    let protocolErrors = Atomic<Int>(0)
    /// Connections or requests cut because a read, idle or write-progress deadline passed.
    let timeouts = Atomic<Int>(0)
}
