import Logging
import Synchronization

/// What every connection of one server shares: configuration, the application, counters, TLS. Immutable except
/// for the TLS context, which a certificate reload replaces (connections take it once, at their first byte).
final class ServerContext: Sendable {
    let configuration: HTTPServerConfiguration
    let handler: any HTTPHandler
    /// The handler's static routes (`StaticRoute`).
    let staticRoutes: [StaticRoute]
    let logger: Logger
    let counters: ServerCounters
    private let tlsContext: Locked<TLSContext?>
    let readTimeoutNanos: UInt64
    let idleTimeoutNanos: UInt64
    /// How often each connection checks its deadlines: a quarter of the shortest timeout, 10 ms…1 s.
    let deadlineCheckIntervalNanos: UInt64

    init(
        configuration: HTTPServerConfiguration, handler: any HTTPHandler, logger: Logger, counters: ServerCounters,
        tls: TLSContext?
    ) {
        self.configuration = configuration
        self.handler = handler
        staticRoutes = handler.staticRoutes
        self.logger = logger
        self.counters = counters
        tlsContext = Locked(tls)
        readTimeoutNanos = configuration.readTimeout.nanoseconds
        idleTimeoutNanos = configuration.idleTimeout.nanoseconds
        deadlineCheckIntervalNanos = min(max(min(readTimeoutNanos, idleTimeoutNanos) / 4, 10_000_000), 1_000_000_000)
    }

    var tls: TLSContext? { tlsContext.withLock { $0 } }

    /// New connections use `context`; established ones keep the one they negotiated with.
    func replaceTLS(_ context: TLSContext) { tlsContext.withLock { $0 = context } }
}
