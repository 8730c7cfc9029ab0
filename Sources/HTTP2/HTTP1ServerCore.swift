/// The HTTP/1.1 side of one connection, without I/O: bytes and events in, actions out. No socket, queue, clock or
/// logger: `HTTP1Connection` is the shell that feeds it and carries its actions out, and the tests drive it directly
/// (`HTTP1ServerCoreTests`). Policies live here: pipelining depth and answer order, `100 Continue`, keep-alive and
/// `connection: close`, the read timeout, the body limit and memory budget, graceful shutdown, the h2c upgrade request.
struct HTTP1ServerCore {
    struct Configuration {
        var maxHeaderBytes: Int
        var maxBodyBytes: Int
        var maxPipelinedRequests: Int
        var readTimeoutNanos: UInt64
        var memoryBudget: MemoryBudget
        /// Whether `Upgrade: h2c` may be taken up (not under TLS, where ALPN decides).
        var allowsUpgrade: Bool
        /// GET and HEAD on these paths are answered from their prebuilt responses (`StaticRoute`).
        var staticRoutes: [StaticRoute] = []
    }

    /// What a call asks the shell to do. Carry a call's actions out in order, all of them, before the next call:
    /// an answer delivered from inside the list would be written ahead of the list's later writes.
    enum Action {
        /// Send these bytes (a response, `100 Continue`).
        case write([UInt8])
        /// Hand this request to the application; its answer comes back through `deliver(_:sequence:)`.
        case dispatch(HTTPRequest, sequence: UInt64, cancellation: RequestCancellation)
        /// The request asks for h2c: the shell tries to switch, then calls `upgradeAccepted()` or
        /// `upgradeRefused(_:)`. No other action follows until then.
        case upgrade(HTTP1RequestHead, settings: [UInt8])
        /// Write what is queued, then close.
        case closeAfterWriting
        /// A malformed request (for the protocol error count), or one refused by a limit, or a timeout.
        case protocolError(String)
        case rejected(String)
        case timedOut(String)
    }

    /// Where the connection is: reading requests, refusing new ones (after an error, a closing request, or while
    /// shutting down), waiting for the shell's upgrade decision, or handed over to HTTP/2.
    private enum Phase {
        case accepting
        case stopped
        case upgrading(HTTP1RequestHead)
        case upgraded
    }

    /// One request in arrival order, waiting for or holding its answer.
    private struct Slot {
        let sequence: UInt64
        let isHead: Bool
        let isHTTP10: Bool
        var closesConnection: Bool
        var response: HTTPResponse?
        /// `nil` for answers the core gives itself (errors, static routes): no application work to cancel.
        let cancellation: RequestCancellation?
    }

    private let configuration: Configuration
    private var parser: HTTP1Parser
    private var phase = Phase.accepting
    private var slots: [Slot] = []
    private var nextSequence: UInt64 = 0
    /// The request being received; `memory` holds its body against the budget (nil until a body byte came).
    private var current: (head: HTTP1RequestHead, body: [UInt8], memory: MemoryReservation?)?
    private var requestStartedAt: UInt64?
    private var isShuttingDown = false
    /// `closeAfterWriting` was asked for; it is asked once.
    private var isClosing = false
    private var actions: [Action] = []

    init(configuration: Configuration) {
        self.configuration = configuration
        parser = HTTP1Parser(maxHeaderBytes: configuration.maxHeaderBytes, maxBodyBytes: configuration.maxBodyBytes)
    }

    private var isAccepting: Bool {
        if case .accepting = phase { return true }
        return false
    }

    private var isPipelineFull: Bool { slots.count >= configuration.maxPipelinedRequests }

    /// Requests received (or being received) and not answered yet.
    var hasOpenRequests: Bool { !slots.isEmpty || current != nil || !parser.isBetweenRequests }

    /// Requests handed to the application and not answered yet (the transport's open-stream count).
    var requestsWithTheApplication: Int { slots.count(where: { $0.cancellation != nil && $0.response == nil }) }

    /// `false` while the shell should stop reading: refusing requests, or the pipeline is full.
    var wantsInput: Bool { isAccepting && !isPipelineFull }

    // MARK: Events

    /// Bytes from the peer, at `now` (nanoseconds, any monotonic origin).
    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: UInt64) -> [Action] {
        guard isAccepting else { return [] }
        parser.append(bytes)
        processInput(now: now)
        return takeActions()
    }

    /// The application's answer to request `sequence`; ignored if that request is gone.
    mutating func deliver(_ response: HTTPResponse, sequence: UInt64, now: UInt64) -> [Action] {
        guard let index = slots.firstIndex(where: { $0.sequence == sequence }), slots[index].response == nil else {
            return []
        }
        slots[index].response = response
        writeReadyResponses()
        processInput(now: now)  // a pipelined request may have been waiting for room
        return takeActions()
    }

    /// A request not complete within the read timeout (from its first byte, while being read) ends the connection.
    mutating func checkDeadlines(now: UInt64) -> [Action] {
        guard let started = requestStartedAt, now - started > configuration.readTimeoutNanos else { return [] }
        actions.append(.timedOut("HTTP/1.1 request not received within the read timeout"))
        stopAccepting(answering: TransportError.requestTimeout.response)
        return takeActions()
    }

    /// Server shutdown: no new request; the one being received is answered with `connection: close`.
    mutating func beginGracefulShutdown() -> [Action] {
        isShuttingDown = true
        if current == nil && parser.isBetweenRequests, isAccepting {
            phase = .stopped
            if slots.isEmpty { close() } else { slots[slots.count - 1].closesConnection = true }
        }
        return takeActions()
    }

    /// The connection is gone: every request still with the application is cancelled.
    mutating func connectionClosed() {
        for slot in slots where slot.response == nil { slot.cancellation?.cancel() }
        slots = []
        current = nil
    }

    /// The shell switched to HTTP/2: returns the bytes that followed the upgrade request, for the new session.
    mutating func upgradeAccepted() -> [UInt8] {
        phase = .upgraded
        return parser.takeBufferedBytes()
    }

    /// The shell could not switch: the request is answered over HTTP/1.1 like any other.
    mutating func upgradeRefused(now: UInt64) -> [Action] {
        guard case .upgrading(let head) = phase else { return [] }
        phase = .accepting
        admit(head, body: [], memory: nil)
        processInput(now: now)
        return takeActions()
    }

    // MARK: Requests

    private mutating func takeActions() -> [Action] {
        defer { actions.removeAll(keepingCapacity: true) }
        return actions
    }

    private mutating func processInput(now: UInt64) {
        while isAccepting && !isPipelineFull, let event = parser.next() {
            switch event {
            case .head(let head): begin(head, now: now)
            case .body(let chunk): appendBody(chunk)
            case .end:
                requestStartedAt = nil
                finishRequest()
            case .error(let error):
                if error == .bodyTooLarge || error == .headersTooLarge {
                    actions.append(.rejected("HTTP/1.1 request rejected: \(error)"))
                } else {
                    actions.append(.protocolError("HTTP/1.1: \(error)"))
                }
                var response = error.transportError
                if case .bodyTooLarge = response { response = .bodyTooLarge(limit: configuration.maxBodyBytes) }
                stopAccepting(answering: response.response)
            }
        }
        // The read timeout runs from a request's first byte while it is actually being read.
        if isAccepting && !isPipelineFull && !parser.isBetweenRequests {
            requestStartedAt = requestStartedAt ?? now
        } else {
            requestStartedAt = nil
        }
        writeReadyResponses()
    }

    private mutating func begin(_ head: HTTP1RequestHead, now: UInt64) {
        current = (head, [], nil)
        requestStartedAt = requestStartedAt ?? now
        // 100 Continue only when it cannot overtake an earlier answer and the body is acceptable.
        if head.expectsContinue && head.hasBody && slots.isEmpty && head.contentLength <= configuration.maxBodyBytes {
            actions.append(.write(HTTP1ResponseSerializer.continueResponse))
        }
    }

    private mutating func appendBody(_ chunk: ArraySlice<UInt8>) {
        guard var request = current else { return }
        current = nil  // the body is appended in place, not copied
        let memory = request.memory ?? MemoryReservation(budget: configuration.memoryBudget)
        request.memory = memory
        let expected = request.body.isEmpty && request.head.contentLength > 0 ? request.head.contentLength : nil
        guard chunk.withUnsafeBytes({ memory.append($0, to: &request.body, expectedTotal: expected) }) else {
            // Past the memory budget: answer 503 and close, as the rest of the body cannot be kept.
            stopAccepting(answering: TransportError.memoryBudgetExhausted.response)
            return
        }
        current = request
    }

    private mutating func finishRequest() {
        guard let (head, body, memory) = current else { return }
        current = nil
        if head.http2Settings != nil && !head.hasBody && slots.isEmpty && !isShuttingDown
            && configuration.allowsUpgrade, let settings = head.http2Settings.flatMap(Base64URL.decode)
        {
            phase = .upgrading(head)
            actions.append(.upgrade(head, settings: settings))
            return
        }
        admit(head, body: body, memory: memory)
    }

    /// Queues a slot for a complete request: answered from a static route, or handed to the application.
    private mutating func admit(_ head: HTTP1RequestHead, body: [UInt8], memory: MemoryReservation?) {
        let closes = !head.keepAlive || isShuttingDown
        if closes { phase = .stopped }
        let sequence = nextSequence
        nextSequence += 1
        if head.query == nil,  // the parser splits the query off the path; a static route has none
            let route = StaticRoute.find(in: configuration.staticRoutes, method: head.method, target: head.path)
        {
            route.recordServed()
            slots.append(slot(sequence, head, closes, response: route.response, cancellation: nil))
            return
        }
        let cancellation = RequestCancellation()
        slots.append(slot(sequence, head, closes, response: nil, cancellation: cancellation))
        let request = HTTPRequest(
            method: head.method, path: head.path, query: head.query, headers: head.headers, body: body,
            version: .http1, memory: memory)
        actions.append(.dispatch(request, sequence: sequence, cancellation: cancellation))
    }

    private func slot(
        _ sequence: UInt64, _ head: HTTP1RequestHead?, _ closes: Bool, response: HTTPResponse?,
        cancellation: RequestCancellation?
    ) -> Slot {
        Slot(
            sequence: sequence, isHead: head?.method == "HEAD", isHTTP10: head?.isHTTP10 ?? false,
            closesConnection: closes, response: response, cancellation: cancellation)
    }

    /// Writes answers from the front of the pipeline as long as they are ready.
    private mutating func writeReadyResponses() {
        while let first = slots.first, let response = first.response {
            slots.removeFirst()
            actions.append(
                .write(
                    HTTP1ResponseSerializer.serialize(
                        response, isHead: first.isHead, isHTTP10: first.isHTTP10,
                        closesConnection: first.closesConnection)))
            if first.closesConnection {
                close()
                return
            }
        }
        if slots.isEmpty && isShuttingDown && current == nil && parser.isBetweenRequests { close() }
    }

    private mutating func close() {
        guard !isClosing else { return }
        isClosing = true
        actions.append(.closeAfterWriting)
    }

    /// Ends the connection after `response`, answered in order after the requests already received.
    private mutating func stopAccepting(answering response: HTTPResponse) {
        phase = .stopped
        current = nil
        requestStartedAt = nil
        slots.append(slot(nextSequence, nil, true, response: response, cancellation: nil))
        nextSequence += 1
        writeReadyResponses()
    }
}
