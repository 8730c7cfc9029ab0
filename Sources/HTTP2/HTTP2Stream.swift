/// One HTTP/2 request stream: headers and body as they arrive (both bounded), then the response being sent.
/// Owned by its `HTTP2Session` and touched on the connection's queue only.
final class HTTP2Stream {
    let id: Int32
    let openedAt: UInt64
    let cancellation = RequestCancellation()
    var method: String?
    var path: String?
    var authority: String?
    /// Regular fields, lower-case names, arrival order.
    var headers: [(name: String, value: String)] = []
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

    var hasUnsentResponseBytes: Bool { hasResponse && responseOffset < responseBody.count }
}
