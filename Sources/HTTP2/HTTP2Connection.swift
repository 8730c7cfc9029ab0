import Dispatch
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// HTTP/2 over one connection: the shell around `HTTP2ServerCore`, which holds every protocol decision. It feeds
/// the core the connection's bytes, clock and the application's answers, moves the core's frames into the output
/// (under TLS gathered into one buffer per flush, so TLS makes one batch of records), and carries out its actions:
/// hand-offs to the application, counters and logs. All state is confined to the connection's queue.
final class HTTP2Connection: @unchecked Sendable, ProtocolDriver {
    /// Strong, for the reason given at `HTTP1Connection.connection`; `Connection.close()` breaks the cycle.
    let connection: Connection
    private let core: HTTP2ServerCore
    /// What the open-stream counter holds for this connection (`core.openStreamCount` when last told).
    private var countedStreams = 0
    /// The thread running the application's `handle` for this connection, while it runs (0 otherwise), and the
    /// stream it handles: an answer to that stream given on that thread is inline (see `dispatch`) and parked in
    /// `inlineResponse`. `inlineStreamID` is read only after `inlineThread` matched, i.e. on the queue's thread.
    private let inlineThread = Atomic<UInt>(0)
    private var inlineStreamID: Int32 = 0
    private var inlineResponse: HTTPResponse?
    /// Reused for every flush's frames under TLS.
    private var frames: [UInt8] = []

    init?(connection: Connection) {
        self.connection = connection
        let context = connection.context
        let configuration = context.configuration
        guard
            let core = HTTP2ServerCore(
                configuration: HTTP2ServerCore.Configuration(
                    maxConcurrentStreams: configuration.maxConcurrentStreams,
                    maxHeaderListBytes: configuration.maxHeaderListBytes,
                    maxRequestBodyBytes: configuration.maxRequestBodyBytes, memoryBudget: configuration.memoryBudget,
                    limits: configuration.http2, readTimeoutNanos: context.readTimeoutNanos,
                    stallTimeoutNanos: context.idleTimeoutNanos, staticRoutes: context.staticRoutes),
                now: connection.now)
        else { return nil }
        self.core = core
    }

    private var context: ServerContext { connection.context }

    // MARK: ProtocolDriver

    func receive(_ bytes: UnsafeRawBufferPointer) {
        core.receive(bytes, now: connection.readAt)
        connection.lastActivity = max(connection.lastActivity, core.lastRequestFrameAt)
        performActions()
        flush()
    }

    func outputDidDrain() { flush() }

    func inputDidEnd() { connection.close() }

    var hasOpenRequests: Bool { core.openStreamCount > 0 }

    var wantsInput: Bool { true }

    func checkDeadlines(now: UInt64) {
        core.checkDeadlines(now: now)
        performActions()
        flush()
    }

    func closeIdle() {
        core.closeIdle()
        flush()
    }

    func beginGracefulShutdown() {
        core.beginGracefulShutdown()
        flush()
    }

    func connectionDidClose() {
        core.connectionClosed()
        recount()
    }

    // MARK: Output

    /// Moves the core's frames into the connection's output (up to its limit) and writes them.
    func flush() {
        guard connection.isOpen else { return }
        let room = context.configuration.maxOutputBufferBytes - connection.outputByteCount
        let state: HTTP2ServerCore.OutputState
        if connection.tls != nil {
            frames.removeAll(keepingCapacity: frames.capacity <= 256 * 1024)
            state = core.produceOutput(now: connection.now, room: room) { frames.append(contentsOf: $0) }
            connection.send(frames)
        } else {
            state = core.produceOutput(now: connection.now, room: room) { connection.send($0) }
        }
        performActions()  // what sending the frames recorded (GOAWAY and RST_STREAM logs, errors)
        switch state {
        case .open: break
        case .finished: connection.closeAfterFlush()
        case .failed(let message):
            connection.reportProtocolError(message)
            connection.closeAfterFlush()
        }
        connection.flush()
    }

    // MARK: Actions

    private func performActions() {
        while let action = core.nextAction() {
            switch action {
            case .dispatch(let request, let streamID, let cancellation):
                dispatch(request, streamID: streamID, cancellation: cancellation)
            case .protocolError(let message): connection.reportProtocolError(message)
            case .timedOut(let message): connection.reportTimeout(message)
            case .sentGoAway(let lastStreamID):
                connection.logger.debug("sent GOAWAY", metadata: ["last_stream": "\(lastStreamID)"])
            case .sentReset(let streamID, let reason):
                connection.logger.debug("sent RST_STREAM", metadata: ["stream": "\(streamID)", "error": "\(reason)"])
            }
        }
        recount()
    }

    /// Brings the open-stream counter in line with the core's streams.
    private func recount() {
        let now = core.openStreamCount
        if now != countedStreams { context.counters.openStreams.add(now - countedStreams, ordering: .relaxed) }
        countedStreams = now
    }

    /// Hands a request to the application. Its answer comes back through the connection's queue, or, when the
    /// handler answers before returning (health, metrics, errors), goes to the core right here and leaves with the
    /// flush that follows, saving a queue hop per request.
    private func dispatch(_ request: HTTPRequest, streamID: Int32, cancellation: RequestCancellation) {
        let acceptsGzip = ContentCoding.acceptsGzip(request.header("accept-encoding"))
        let minimum = context.configuration.gzipMinimumBytes
        let queue = connection.queue
        inlineStreamID = streamID
        inlineThread.store(UInt(pthread_self()), ordering: .relaxed)
        context.handler.handle(request, cancellation: cancellation) { [weak self] response in
            // Compress on the caller's thread, not on the connection's queue.
            let encoded = ContentCoding.encodedResponse(response, clientAcceptsGzip: acceptsGzip, minimumBytes: minimum)
            guard let driver = self else { return }  // the connection is gone
            if driver.inlineThread.load(ordering: .relaxed) == UInt(pthread_self()) && driver.inlineStreamID == streamID
            {
                driver.inlineResponse = encoded  // still inside `handle`, on the connection's queue
                return
            }
            queue.async { driver.deliver(encoded, to: streamID) }
        }
        inlineThread.store(0, ordering: .relaxed)
        if let response = inlineResponse {
            inlineResponse = nil
            core.deliver(response, to: streamID, now: connection.now)
        }
    }

    private func deliver(_ response: HTTPResponse, to streamID: Int32) {
        dispatchPrecondition(condition: .onQueue(connection.queue))
        guard connection.isOpen else { return }
        core.deliver(response, to: streamID, now: connection.now)
        flush()
    }

    // MARK: Upgrade

    /// Takes over a connection from HTTP/1.1 (`Upgrade: h2c`): `request` becomes stream 1; `false` if the client's
    /// settings are refused, and the connection stays HTTP/1.1.
    func acceptUpgrade(settingsPayload: [UInt8], request: HTTPRequest) -> Bool {
        let accepted = core.acceptUpgrade(settingsPayload: settingsPayload, request: request)
        if !accepted { performActions() }  // the refusal's protocol error
        return accepted
    }

    /// After the 101 went out: the upgraded request goes to the application, then the bytes that followed it.
    func startAfterUpgrade(leftover: [UInt8]) {
        performActions()
        if !leftover.isEmpty { leftover.withUnsafeBytes { core.receive($0, now: connection.readAt) } }
        performActions()
        flush()
    }
}
