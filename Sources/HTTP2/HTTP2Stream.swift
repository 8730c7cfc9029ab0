/// One HTTP/2 request stream: headers and body as they arrive (both bounded), then the response being sent.
/// Owned by its `HTTP2ServerCore`. A closed stream's object is reset and reused for a later stream of the same
/// connection (`HTTP2ServerCore.makeStream`), so a request allocates no stream.
final class HTTP2Stream {
    /// Why a request is refused while the rest of it is still read (`RequestState.draining`).
    enum Refusal {
        case headersTooLarge
        case bodyTooLarge
    }

    /// The request half of the stream.
    enum RequestState {
        /// Header fields and body arriving.
        case receiving
        /// Over a limit: what follows is read and dropped, and the request is answered with the refusal when it
        /// ends (or sooner, when the remainder is too large to drain).
        case draining(Refusal)
        /// END_STREAM received.
        case complete
    }

    /// The response half of the stream.
    enum ResponseState {
        /// Nothing submitted yet.
        case none
        /// Submitted; nghttp2 still pulls body bytes from `offset` on (`HTTP2ServerCore.readResponseBody`), then
        /// the trailers, if any, follow the last of them.
        case sending(body: [UInt8], offset: Int, trailers: [(name: String, value: String)])
        /// Submitted, and every body byte (if any) handed to nghttp2.
        case sent
    }

    private(set) var id: Int32
    private(set) var openedAt: UInt64
    /// Made when the request is handed to the application (static answers need none).
    var cancellation: RequestCancellation?
    var method: String?
    var path: String?
    var authority: String?
    /// The route answering this request without the application; set when `:path` names one after a GET or HEAD
    /// `:method`. Regular header fields of such a request are not kept.
    var staticRoute: StaticRoute?
    /// Regular fields, lower-case names, arrival order.
    var headers: [(name: String, value: String)] = []
    /// The `content-length` field's value, when it is a number.
    var declaredLength: Int?
    /// RFC 9113 §6.5.2 accounting: name + value + 32 per field, over all header blocks of the stream.
    var headerBytes = 0
    var body: [UInt8] = []
    /// What `body` holds against the server's memory budget; handed to the application with the request.
    var memory: MemoryReservation?
    /// DATA payload bytes received, kept or not.
    var receivedBodyBytes = 0
    var request = RequestState.receiving
    var response = ResponseState.none
    /// Last time nghttp2 took response bytes (flow control may stall a stream on a zero-window client).
    var lastSendProgress: UInt64 = 0

    init(id: Int32, openedAt: UInt64) {
        self.id = id
        self.openedAt = openedAt
    }

    /// Makes this object a fresh stream `id`, keeping the header list's storage.
    func reset(id: Int32, openedAt: UInt64) {
        self.id = id
        self.openedAt = openedAt
        cancellation = nil
        method = nil
        path = nil
        authority = nil
        staticRoute = nil
        headers.removeAll(keepingCapacity: true)
        declaredLength = nil
        headerBytes = 0
        body = []
        memory = nil
        receivedBodyBytes = 0
        request = .receiving
        response = .none
        lastSendProgress = 0
    }

    /// What the request is being refused for, while its remainder is drained.
    var refusal: Refusal? {
        if case .draining(let refusal) = request { return refusal }
        return nil
    }

    var isRequestComplete: Bool {
        if case .complete = request { return true }
        return false
    }

    /// A response (the application's or the transport's own error) has been submitted.
    var hasResponse: Bool {
        if case .none = response { return false }
        return true
    }

    var hasUnsentResponseBytes: Bool {
        if case .sending = response { return true }
        return false
    }
}
