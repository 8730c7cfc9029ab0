/// One HTTP/2 request stream: headers and body as they arrive (both bounded), then the response being sent.
/// Owned by its `HTTP2Session` and touched on the connection's queue only. A closed stream's object is reset and
/// reused for a later stream of the same session (`HTTP2Session.makeStream`), so a request allocates no stream.
final class HTTP2Stream {
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
    var headersTooLarge = false
    var body: [UInt8] = []
    /// What `body` holds against the server's memory budget; handed to the application with the request.
    var memory: MemoryReservation?
    /// The body passed the limit; the rest is drained and the request answered 413 when it ends.
    var bodyTooLarge = false
    /// DATA payload bytes received, kept or not.
    var receivedBodyBytes = 0
    /// END_STREAM received from the client.
    var isRequestComplete = false
    /// A response (the application's or the transport's own error) has been submitted.
    var hasResponse = false
    var responseBody: [UInt8] = []
    var responseOffset = 0
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
        headersTooLarge = false
        body = []
        memory = nil
        bodyTooLarge = false
        receivedBodyBytes = 0
        isRequestComplete = false
        hasResponse = false
        responseBody = []
        responseOffset = 0
        lastSendProgress = 0
    }

    var hasUnsentResponseBytes: Bool { hasResponse && responseOffset < responseBody.count }
}
