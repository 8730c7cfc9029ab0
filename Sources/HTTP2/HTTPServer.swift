import Dispatch
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// HTTP/1.1 and HTTP/2 on one port: h2c with prior knowledge, HTTP/1.1 (with `Upgrade: h2c`), and, when
/// configured, TLS with ALPN choosing h2 or http/1.1. Each connection runs on its own serial queue.
///
/// Connection limit: above `maxConnections` new connections are accepted and closed at once (counted in
/// `rejectedConnectionCount`), so the listen backlog never fills with clients that wait in vain.
public final class HTTPServer: Sendable {
    private enum Phase {
        case idle
        case running
        case shuttingDown
        case stopped
    }

    private struct State {
        var phase = Phase.idle
        var context: ServerContext?
        var acceptSource: (any DispatchSourceRead)?
        var isAcceptSuspended = false
        var isListenerClosed = true
        var boundPort = 0
        var connections: [ObjectIdentifier: Connection] = [:]
        var shutdownCompletion: (@Sendable () -> Void)?
        /// The event loops connections are spread over, round robin (`EventLoop`).
        var loops: [EventLoop] = []
        var nextLoop = 0
    }

    private let configuration: HTTPServerConfiguration
    private let handler: any HTTPHandler
    private let logger: Logger
    private let counters = ServerCounters()
    private let acceptQueue = DispatchQueue(label: "funnel.http.accept")
    private let state = Locked(State())

    public init(
        configuration: HTTPServerConfiguration, handler: any HTTPHandler, logger: Logger = Logger(label: "funnel.http")
    ) {
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
    }

    deinit {
        state.withLock { state in
            if state.isAcceptSuspended { state.acceptSource?.resume() }
            state.acceptSource?.cancel()
            state.loops.forEach { $0.stop() }
        }
    }

    /// The port actually bound (useful with `port: 0`); 0 before `start()`.
    public var boundPort: Int { state.withLock { $0.boundPort } }
    /// Connections currently open (any protocol, including ones still negotiating).
    public var openConnections: Int { counters.openConnections.load(ordering: .relaxed) }
    /// Requests received (or being received) and not answered yet, over HTTP/1.1 and HTTP/2.
    public var openStreams: Int { counters.openStreams.load(ordering: .relaxed) }
    public var acceptedConnectionCount: Int { counters.acceptedConnections.load(ordering: .relaxed) }
    /// Connections closed right after accept: over `maxConnections`, or during shutdown.
    public var rejectedConnectionCount: Int { counters.rejectedConnections.load(ordering: .relaxed) }
    /// Malformed HTTP/1.1, HTTP/2 protocol errors and invalid frames, failed TLS handshakes.
    public var protocolErrorCount: Int { counters.protocolErrors.load(ordering: .relaxed) }
    /// Requests or connections cut by the read, idle or write-progress deadlines.
    public var timeoutCount: Int { counters.timeouts.load(ordering: .relaxed) }

    /// Binds, listens and starts accepting. Throws on a bad address, a taken port or unreadable TLS files.
    public func start() throws {
        let tls = try configuration.tls.map { configuration throws(HTTPServerError) in try TLSContext(configuration) }
        let context = ServerContext(
            configuration: configuration, handler: handler, logger: logger, counters: counters, tls: tls)
        try state.withLock { state throws(HTTPServerError) in
            guard case .idle = state.phase else { throw .alreadyStarted }
            let loops = (0..<configuration.effectiveEventLoops).compactMap { EventLoop(label: "funnel.http.loop\($0)") }
            guard loops.count == configuration.effectiveEventLoops else {
                throw .socket(operation: "epoll_create1", errno: errno)
            }
            let (fd, port) = try Socket.makeListener(host: configuration.host, port: configuration.port)
            loops.forEach { $0.start(deadlineInterval: context.deadlineCheckIntervalNanos) }
            state.loops = loops
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: acceptQueue)
            source.setEventHandler { [weak self] in self?.acceptConnections(from: fd) }
            source.setCancelHandler { [weak self] in
                Socket.close(fd)
                self?.listenerClosed()
            }
            state.phase = .running
            state.context = context
            state.acceptSource = source
            state.isListenerClosed = false
            state.boundPort = port
            source.resume()
        }
        logger.info(
            "HTTP server listening",
            metadata: ["host": "\(configuration.host)", "port": "\(boundPort)", "tls": "\(tls != nil)"])
    }

    /// Re-reads the certificate chain and key (rotation without a restart). On failure the error is thrown and
    /// the pair in use keeps serving. Without TLS configured, or before `start`, does nothing.
    public func reloadTLSCertificate() throws(HTTPServerError) {
        guard let files = configuration.tls, let context = state.withLock({ $0.context }) else { return }
        context.replaceTLS(try TLSContext(files))
        logger.info("TLS certificate reloaded", metadata: ["certificate": "\(files.certificatePath)"])
    }

    private func acceptConnections(from listener: Int32) {
        // Bounded per event so a connection storm cannot starve the accept queue's other work.
        for _ in 0..<256 {
            switch Socket.accept(listener) {
            case .accepted(let fd, let peer): admit(fd: fd, peer: peer)
            case .drained: return
            case .retry: continue
            case .exhausted(let code):
                logger.warning("accept paused: out of descriptors or memory", metadata: ["errno": "\(code)"])
                pauseAccepting()
                return
            }
        }
    }

    private func admit(fd: Int32, peer: String) {
        let admitted: (ServerContext, EventLoop)? = state.withLock { state in
            guard case .running = state.phase, let context = state.context,
                counters.openConnections.load(ordering: .relaxed) < configuration.maxConnections
            else { return nil }
            state.nextLoop = (state.nextLoop + 1) % state.loops.count
            return (context, state.loops[state.nextLoop])
        }
        guard let (context, loop) = admitted else {
            counters.rejectedConnections.add(1, ordering: .relaxed)
            Socket.close(fd)
            logger.debug("connection rejected", metadata: ["peer": "\(peer)"])
            return
        }
        counters.openConnections.add(1, ordering: .relaxed)
        counters.acceptedConnections.add(1, ordering: .relaxed)
        let connection = Connection(fd: fd, peer: peer, context: context, loop: loop) { [weak self] in
            self?.connectionClosed($0)
        }
        state.withLock { $0.connections[ObjectIdentifier(connection)] = connection }
        connection.queue.async { connection.start() }
    }

    /// EMFILE and friends: the listener stays readable, so stop listening to it for a moment instead of spinning.
    private func pauseAccepting() {
        state.withLock { state in
            guard !state.isAcceptSuspended, case .running = state.phase else { return }
            state.acceptSource?.suspend()
            state.isAcceptSuspended = true
        }
        acceptQueue.asyncAfter(deadline: .now() + .milliseconds(100)) { [weak self] in
            self?.state.withLock { state in
                guard state.isAcceptSuspended else { return }
                state.acceptSource?.resume()
                state.isAcceptSuspended = false
            }
        }
    }

    /// Stops accepting (the listener is closed, so new connections are refused), asks every connection to finish
    /// what it has received (h2: GOAWAY with the last stream processed; h1: `connection: close` on the current
    /// answer), and calls `completion` once all connections closed, force-closing those left after `gracePeriod`.
    public func shutdown(gracePeriod: Duration, completion: @escaping @Sendable () -> Void) {
        let connections: [Connection]? = state.withLock { state in
            guard case .running = state.phase else {
                if case .idle = state.phase { state.phase = .stopped }
                return nil
            }
            state.phase = .shuttingDown
            state.shutdownCompletion = completion
            // Never cancel a suspended source.
            if state.isAcceptSuspended { state.acceptSource?.resume() }
            state.isAcceptSuspended = false
            state.acceptSource?.cancel()
            state.acceptSource = nil
            return Array(state.connections.values)
        }
        guard let connections else {
            completion()  // never started, or already shut down
            return
        }
        logger.info("HTTP server shutting down", metadata: ["connections": "\(connections.count)"])
        for connection in connections {
            connection.queue.async { connection.beginGracefulShutdown() }
        }
        acceptQueue.asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: gracePeriod.nanoseconds))) {
            [weak self] in self?.forceClose()
        }
    }

    private func forceClose() {
        let remaining = state.withLock { state in
            guard case .shuttingDown = state.phase else { return [Connection]() }
            return Array(state.connections.values)
        }
        if !remaining.isEmpty {
            logger.notice("grace period over, closing connections", metadata: ["count": "\(remaining.count)"])
        }
        for connection in remaining {
            connection.queue.async { connection.close() }
        }
    }

    private func connectionClosed(_ connection: Connection) {
        state.withLock { _ = $0.connections.removeValue(forKey: ObjectIdentifier(connection)) }
        completeShutdownIfDone()
    }

    private func listenerClosed() {
        state.withLock { $0.isListenerClosed = true }
        completeShutdownIfDone()
    }

    private func completeShutdownIfDone() {
        let completion: (@Sendable () -> Void)? = state.withLock { state in
            guard case .shuttingDown = state.phase, state.isListenerClosed, state.connections.isEmpty else {
                return nil
            }
            state.phase = .stopped
            state.loops.forEach { $0.stop() }
            state.loops = []
            defer { state.shutdownCompletion = nil }
            return state.shutdownCompletion
        }
        if let completion {
            logger.info("HTTP server stopped")
            completion()
        }
    }
}
