import Dispatch
import Logging
import Synchronization

/// HTTP/1.1 over one connection: parses (pipelined) requests, hands them to the application, writes the answers
/// in request order, upgrades to h2c when asked. All state is confined to the connection's queue.
final class HTTP1Connection: @unchecked Sendable, ProtocolDriver {
    /// One request in arrival order, waiting for or holding its answer.
    private final class Slot {
        let sequence: UInt64
        let isHead: Bool
        let isHTTP10: Bool
        var closesConnection: Bool
        var response: HTTPResponse?
        /// `nil` for the transport's own error answers (never handed to the application).
        let cancellation: RequestCancellation?

        init(sequence: UInt64, head: HTTP1RequestHead?, closesConnection: Bool, response: HTTPResponse?) {
            self.sequence = sequence
            isHead = head?.method == "HEAD"
            isHTTP10 = head?.isHTTP10 ?? false
            self.closesConnection = closesConnection
            self.response = response
            cancellation = response == nil ? RequestCancellation() : nil
        }
    }

    /// Strong: an answer delivered after the connection closed (a batch finishing for a client that left) may run
    /// on the queue after the server dropped the connection, and must still find it (found by FuzzHTTP1: an
    /// `unowned` reference trapped there). The cycle with `Connection.driver` is broken by `Connection.close()`.
    let connection: Connection
    private var parser: HTTP1Parser
    private var slots: [Slot] = []
    private var nextSequence: UInt64 = 0
    /// The request being received; `memory` is what its body holds against the budget (nil until a body byte came).
    private var current: (head: HTTP1RequestHead, body: [UInt8], memory: MemoryReservation?)?
    private var requestStartedAt: UInt64?
    /// False after an error, a request that closes the connection, or an upgrade: remaining input is ignored.
    private var acceptsRequests = true
    private var isShuttingDown = false

    init(connection: Connection) {
        self.connection = connection
        let configuration = connection.context.configuration
        parser = HTTP1Parser(
            maxHeaderBytes: configuration.maxHeaderListBytes, maxBodyBytes: configuration.maxRequestBodyBytes)
    }

    private var context: ServerContext { connection.context }
    private var isPipelineFull: Bool { slots.count >= context.configuration.maxPipelinedRequests }

    // MARK: ProtocolDriver

    func receive(_ bytes: UnsafeRawBufferPointer) {
        connection.lastActivity = connection.now
        guard acceptsRequests else { return }
        parser.append(bytes)
        processInput()
    }

    func outputDidDrain() {}

    /// EOF from the client: like nginx, take it as the client giving up (half-closing HTTP/1.1 clients that still
    /// wait for answers are not supported), so unanswered requests are cancelled.
    func inputDidEnd() {
        connection.close()
    }

    var hasOpenRequests: Bool { !slots.isEmpty || current != nil || !parser.isBetweenRequests }

    var wantsInput: Bool { acceptsRequests && !isPipelineFull }

    func checkDeadlines(now: UInt64) {
        guard let started = requestStartedAt, now - started > context.readTimeoutNanos else { return }
        connection.reportTimeout("HTTP/1.1 request not received within the read timeout")
        stopAccepting(answering: TransportError.requestTimeout.response)
    }

    func closeIdle() { connection.closeAfterFlush() }

    func beginGracefulShutdown() {
        isShuttingDown = true
        if current == nil && parser.isBetweenRequests {
            acceptsRequests = false
            if let last = slots.last { last.closesConnection = true } else { connection.closeAfterFlush() }
        }
        // Otherwise the request being received is answered with `connection: close` when it completes.
    }

    func connectionDidClose() {
        let unanswered = slots.filter { $0.cancellation != nil && $0.response == nil }
        unanswered.forEach { $0.cancellation?.cancel() }
        context.counters.openStreams.subtract(unanswered.count, ordering: .relaxed)
        slots = []
    }

    // MARK: Requests

    private func processInput() {
        while acceptsRequests && !isPipelineFull, let event = parser.next() {
            switch event {
            case .head(let head): begin(head)
            case .body(let chunk):
                guard var request = current else { break }
                current = nil  // the body is appended in place, not copied
                let memory = request.memory ?? MemoryReservation(budget: context.configuration.memoryBudget)
                request.memory = memory
                let expected = request.body.isEmpty && request.head.contentLength > 0 ? request.head.contentLength : nil
                let appended = chunk.withUnsafeBytes {
                    memory.append($0, to: &request.body, expectedTotal: expected)
                }
                guard appended else {
                    // Past the memory budget: answer 503 and close, as the rest of the body cannot be kept.
                    stopAccepting(answering: TransportError.memoryBudgetExhausted.response)
                    break
                }
                current = request
            case .end:
                requestStartedAt = nil
                if finishRequest() { return }  // upgraded: this driver is done
            case .error(let error):
                if error == .bodyTooLarge || error == .headersTooLarge {
                    connection.logger.info("HTTP/1.1 request rejected: \(error)")
                } else {
                    connection.reportProtocolError("HTTP/1.1: \(error)")
                }
                var response = error.transportError
                if case .bodyTooLarge = response { response = .bodyTooLarge(limit: context.configuration.maxRequestBodyBytes) }
                stopAccepting(answering: response.response)
            }
        }
        // The read timeout runs from a request's first byte while we are actually reading it.
        if acceptsRequests && !isPipelineFull && !parser.isBetweenRequests {
            requestStartedAt = requestStartedAt ?? connection.now
        } else {
            requestStartedAt = nil
        }
        writeReadyResponses()
        connection.flush()
    }

    private func begin(_ head: HTTP1RequestHead) {
        current = (head, [], nil)
        requestStartedAt = requestStartedAt ?? connection.now
        // 100 Continue only when it cannot overtake an earlier answer and the body is acceptable.
        if head.expectsContinue && head.hasBody && slots.isEmpty
            && head.contentLength <= context.configuration.maxRequestBodyBytes
        {
            connection.send(HTTP1ResponseSerializer.continueResponse)
        }
    }

    /// Returns `true` when the connection switched to HTTP/2.
    private func finishRequest() -> Bool {
        guard let (head, body, memory) = current else { return false }
        current = nil
        if let settings = head.http2Settings, !head.hasBody, slots.isEmpty, !isShuttingDown, connection.tls == nil,
            let payload = Base64URL.decode(settings), upgrade(head, settingsPayload: payload)
        {
            return true
        }
        let closes = !head.keepAlive || isShuttingDown
        if closes { acceptsRequests = false }
        let sequence = nextSequence
        nextSequence += 1
        if let route = staticRoute(for: head) {
            route.recordServed()
            slots.append(Slot(sequence: sequence, head: head, closesConnection: closes, response: route.response))
            return false
        }
        let slot = Slot(sequence: sequence, head: head, closesConnection: closes, response: nil)
        slots.append(slot)
        context.counters.openStreams.add(1, ordering: .relaxed)
        let request = HTTPRequest(
            method: head.method, path: head.path, query: head.query, headers: head.headers, body: body,
            version: .http1, memory: memory)
        dispatch(request, sequence: sequence, cancellation: slot.cancellation!)
        return false
    }

    /// The static route answering a GET or HEAD without a query, if any.
    private func staticRoute(for head: HTTP1RequestHead) -> StaticRoute? {
        guard head.query == nil, StaticRoute.answers(method: head.method) else { return nil }
        var path = head.path
        return path.withUTF8 { context.staticRoute(for: $0) }
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
        guard connection.isOpen, let slot = slots.first(where: { $0.sequence == sequence }), slot.response == nil
        else { return }
        slot.response = response
        writeReadyResponses()
        processInput()  // a pipelined request may have been waiting for room
    }

    /// Writes answers from the front of the pipeline as long as they are ready.
    private func writeReadyResponses() {
        while let slot = slots.first, let response = slot.response {
            slots.removeFirst()
            if slot.cancellation != nil { context.counters.openStreams.subtract(1, ordering: .relaxed) }
            connection.send(
                HTTP1ResponseSerializer.serialize(
                    response, isHead: slot.isHead, isHTTP10: slot.isHTTP10, closesConnection: slot.closesConnection))
            if slot.closesConnection {
                connection.closeAfterFlush()
                return
            }
        }
        if slots.isEmpty && isShuttingDown && current == nil && parser.isBetweenRequests {
            connection.closeAfterFlush()
        }
    }

    /// Ends the connection after `response`, answered in order after the requests already received.
    private func stopAccepting(answering response: HTTPResponse) {
        acceptsRequests = false
        current = nil
        requestStartedAt = nil
        slots.append(Slot(sequence: nextSequence, head: nil, closesConnection: true, response: response))
        nextSequence += 1
        writeReadyResponses()
        connection.flush()
    }

    private func upgrade(_ head: HTTP1RequestHead, settingsPayload: [UInt8]) -> Bool {
        guard let session = HTTP2Session(connection: connection),
            session.acceptUpgrade(settingsPayload: settingsPayload, method: head.method)
        else { return false }
        acceptsRequests = false
        connection.send(HTTP1ResponseSerializer.switchingToH2C)
        let leftover = parser.takeBufferedBytes()
        connection.install(session)
        session.dispatchUpgradedRequest(
            HTTPRequest(method: head.method, path: head.path, query: head.query, headers: head.headers, version: .http1))
        leftover.withUnsafeBytes { session.receive($0) }
        session.flush()
        return true
    }
}
