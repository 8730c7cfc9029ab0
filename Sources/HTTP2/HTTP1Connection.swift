import Dispatch
import Logging
import Synchronization

/// HTTP/1.1 over one connection: the shell around `HTTP1ServerCore`, which holds every protocol decision. It feeds
/// the core the connection's bytes, clock and the application's answers, and carries out its actions: writes,
/// hand-offs to the application, the h2c switch, closing, counters and logs. All state is confined to the
/// connection's queue.
final class HTTP1Connection: @unchecked Sendable, ProtocolDriver {
    /// Strong: an answer delivered after the connection closed (a batch finishing for a client that left) may run
    /// on the queue after the server dropped the connection, and must still find it (found by FuzzHTTP1: an
    /// `unowned` reference trapped there). The cycle with `Connection.driver` is broken by `Connection.close()`.
    let connection: Connection
    private var core: HTTP1ServerCore
    /// What the open-stream counter holds for this connection (`core.requestsWithTheApplication` when last told).
    private var countedRequests = 0

    init(connection: Connection) {
        self.connection = connection
        let configuration = connection.context.configuration
        core = HTTP1ServerCore(
            configuration: HTTP1ServerCore.Configuration(
                maxHeaderBytes: configuration.maxHeaderListBytes, maxBodyBytes: configuration.maxRequestBodyBytes,
                maxPipelinedRequests: configuration.maxPipelinedRequests,
                readTimeoutNanos: connection.context.readTimeoutNanos, memoryBudget: configuration.memoryBudget,
                allowsUpgrade: connection.tls == nil, staticRoutes: connection.context.staticRoutes))
    }

    private var context: ServerContext { connection.context }

    // MARK: ProtocolDriver

    func receive(_ bytes: UnsafeRawBufferPointer) {
        connection.lastActivity = connection.now
        perform(core.receive(bytes, now: connection.now))
    }

    func outputDidDrain() {}

    /// EOF from the client: like nginx, take it as the client giving up (half-closing HTTP/1.1 clients that still
    /// wait for answers are not supported), so unanswered requests are cancelled.
    func inputDidEnd() {
        connection.close()
    }

    var hasOpenRequests: Bool { core.hasOpenRequests }

    var wantsInput: Bool { core.wantsInput }

    func checkDeadlines(now: UInt64) { perform(core.checkDeadlines(now: now)) }

    func closeIdle() { connection.closeAfterFlush() }

    func beginGracefulShutdown() { perform(core.beginGracefulShutdown()) }

    func connectionDidClose() {
        core.connectionClosed()
        recount()
    }

    // MARK: Actions

    private func perform(_ actions: [HTTP1ServerCore.Action]) {
        for action in actions {
            switch action {
            case .write(let bytes): connection.send(bytes)
            case .dispatch(let request, let sequence, let cancellation):
                dispatch(request, sequence: sequence, cancellation: cancellation)
            case .upgrade(let head, let settings):
                if upgrade(head, settingsPayload: settings) { return recount() }  // this driver is done
                perform(core.upgradeRefused(now: connection.now))
            case .closeAfterWriting: connection.closeAfterFlush()
            case .protocolError(let message): connection.reportProtocolError(message)
            case .rejected(let message): connection.logger.info("\(message)")
            case .timedOut(let message): connection.reportTimeout(message)
            }
        }
        recount()
        connection.flush()
    }

    /// Brings the open-stream counter in line with the requests the application holds.
    private func recount() {
        let now = core.requestsWithTheApplication
        if now != countedRequests { context.counters.openStreams.add(now - countedRequests, ordering: .relaxed) }
        countedRequests = now
    }

    private func dispatch(_ request: HTTPRequest, sequence: UInt64, cancellation: RequestCancellation) {
        let acceptsGzip = ContentCoding.acceptsGzip(request.header("accept-encoding"))
        let minimum = context.configuration.gzipMinimumBytes
        let queue = connection.queue
        context.handler.handle(request, cancellation: cancellation) { [weak self] response in
            let encoded = ContentCoding.encodedResponse(response, clientAcceptsGzip: acceptsGzip, minimumBytes: minimum)
            let driver = self  // a constant: the inner closure may not capture the weak variable
            queue.async { driver?.deliver(encoded, sequence: sequence) }
        }
    }

    private func deliver(_ response: HTTPResponse, sequence: UInt64) {
        dispatchPrecondition(condition: .onQueue(connection.queue))
        guard connection.isOpen else { return }
        perform(core.deliver(response, sequence: sequence, now: connection.now))
    }

    private func upgrade(_ head: HTTP1RequestHead, settingsPayload: [UInt8]) -> Bool {
        let request = HTTPRequest(
            method: head.method, path: head.path, query: head.query, headers: head.headers, version: .http1)
        guard let driver = HTTP2Connection(connection: connection),
            driver.acceptUpgrade(settingsPayload: settingsPayload, request: request)
        else { return false }
        connection.send(HTTP1ResponseSerializer.switchingToH2C)
        let leftover = core.upgradeAccepted()
        connection.install(driver)
        driver.startAfterUpgrade(leftover: leftover)
        return true
    }
}
