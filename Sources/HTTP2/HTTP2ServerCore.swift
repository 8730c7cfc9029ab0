import CNghttp2

/// The HTTP/2 side of one connection, without I/O: bytes and events in, frames and actions out. It owns the
/// nghttp2 server session and the streams, and holds every protocol decision: header and body limits, the memory
/// budget, early answers and draining, read and stall deadlines, invalid-frame tolerance, GOAWAY on shutdown and
/// idleness, static routes, and the h2c upgrade's stream 1. No socket, queue, clock or logger: `HTTP2Connection`
/// is the shell that feeds it and carries its actions out, and the tests drive it directly with an nghttp2 client
/// session on the other side (`HTTP2ServerCoreTests`).
///
/// Output is pulled, not pushed: `produceOutput` hands frames to a sink, as many as the shell has room for, so a
/// request costs no buffer of its own. Actions queue up inside the core (`nextAction`), in storage that is reused.
/// A class, not a value: nghttp2 keeps a pointer to it for its callbacks.
final class HTTP2ServerCore {
    struct Configuration {
        var maxConcurrentStreams: Int
        var maxHeaderListBytes: Int
        var maxRequestBodyBytes: Int
        var memoryBudget: MemoryBudget
        var limits: HTTPServerConfiguration.HTTP2Limits
        /// A request must be complete within this long of its first frame.
        var readTimeoutNanos: UInt64
        /// A response may wait this long for flow-control window before its stream is reset.
        var stallTimeoutNanos: UInt64
        /// GET and HEAD on these paths are answered from their prebuilt responses (`StaticRoute`).
        var staticRoutes: [StaticRoute] = []
    }

    enum Action {
        /// Hand this request to the application; its answer comes back through `deliver(_:to:)`.
        case dispatch(HTTPRequest, streamID: Int32, cancellation: RequestCancellation)
        /// The peer broke the protocol (for the protocol error count and the log).
        case protocolError(String)
        /// A request or a response missed its deadline.
        case timedOut(String)
        /// For the debug log: a GOAWAY without error, or a RST_STREAM, went out.
        case sentGoAway(lastStreamID: Int32)
        case sentReset(streamID: Int32, reason: String)
    }

    /// What the connection should do once the frames produced so far are written.
    enum OutputState: Equatable {
        case open
        /// GOAWAY exchanged and no stream left, or the session was terminated: close.
        case finished
        /// nghttp2 could not produce frames: close.
        case failed(String)
    }

    let configuration: Configuration
    private var session: OpaquePointer?
    /// The allocator behind `session` (`funnel_pool` in the CNghttp2 shim); freed after the session.
    private let pool: UnsafeMutablePointer<funnel_pool>
    /// Open streams by id; changed only through `addStream` and `removeStream`, which keep `recentStream` right.
    private(set) var streams: [Int32: HTTP2Stream] = [:]
    /// The stream the last lookup found: nghttp2 calls back for one stream's frames in a row, so this answers most
    /// lookups without hashing the id (`stream(_:)`); cleared when that stream leaves `streams`.
    private var recentStream: HTTP2Stream?
    /// Closed streams' objects, kept for reuse (`makeStream`), at most `maxSpareStreams`.
    var spareStreams: [HTTP2Stream] = []
    static let maxSpareStreams = 32
    var invalidFrames = 0
    /// The clock as of the last event (`receive`, `produceOutput`, …); nghttp2's callbacks read it.
    var now: UInt64 = 0
    /// When the last HEADERS or DATA frame arrived: only requests keep a connection alive, not PING or SETTINGS.
    var lastRequestFrameAt: UInt64 = 0
    /// The connection is gone: nothing more goes in or out.
    private var isClosed = false
    /// The session ended itself (bad input): close once its GOAWAY is written.
    private var isTerminated = false
    private var actions: [Action] = []
    private var nextActionIndex = 0
    /// Reused for every response's header block (no allocation per request).
    var responseFields = NameValueBuffer()

    init?(configuration: Configuration, now: UInt64) {
        self.configuration = configuration
        self.now = now
        lastRequestFrameAt = now
        guard let pool = funnel_pool_create() else { return nil }
        self.pool = pool
        let limits = configuration.limits
        var createdOption: OpaquePointer?
        // Every stored property is set from here on, so a failure's `return nil` runs deinit, which frees `pool`.
        guard nghttp2_option_new(&createdOption) == 0, let option = createdOption else { return nil }
        defer { nghttp2_option_del(option) }
        // Debian backported both knobs into 1.52.0 (deb12u1: Rapid Reset, deb12u2: CONTINUATION flood).
        nghttp2_option_set_stream_reset_rate_limit(option, limits.streamResetBurst, limits.streamResetRatePerSecond)
        nghttp2_option_set_max_continuations(option, limits.maxContinuationFrames)
        nghttp2_option_set_max_settings(option, limits.maxSettingsEntries)
        nghttp2_option_set_max_outbound_ack(option, limits.maxOutboundAcks)
        var created: OpaquePointer?
        let user = Unmanaged.passUnretained(self).toOpaque()
        guard nghttp2_session_server_new3(&created, Self.callbacks, user, option, &pool.pointee.mem) == 0,
            let session = created
        else { return nil }
        self.session = session
        var settings = [
            (NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, configuration.maxConcurrentStreams),
            (NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, configuration.maxHeaderListBytes),
            (NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, min(limits.initialStreamWindowBytes, Int(Int32.max))),
            (NGHTTP2_SETTINGS_ENABLE_PUSH, 0),
            (NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1),  // no priority tree to churn (CVE-2019-9513)
        ].map { nghttp2_settings_entry(settings_id: Int32($0.0.rawValue), value: UInt32(clamping: $0.1)) }
        guard nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, settings.count) == 0,
            nghttp2_session_set_local_window_size(
                session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, Int32(clamping: limits.connectionWindowBytes)) == 0
        else { return nil }
    }

    deinit {
        if let session { nghttp2_session_del(session) }
        funnel_pool_destroy(pool)
    }

    /// The session while the connection is open.
    var openSession: OpaquePointer? { isClosed ? nil : session }

    /// Streams open from their first HEADERS frame until closed (the transport's open-stream count).
    var openStreamCount: Int { streams.count }

    // MARK: Events

    /// Bytes from the peer, at `now` (nanoseconds, any monotonic origin).
    func receive(_ bytes: UnsafeRawBufferPointer, now: UInt64) {
        guard let session = openSession, !isTerminated else { return }
        self.now = now
        let result = nghttp2_session_mem_recv(
            session, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        if result < 0 {
            // Fatal for the session (bad preface, flood, callback failure): nothing more can be exchanged.
            record(.protocolError("HTTP/2: \(Self.describe(Int32(truncatingIfNeeded: result)))"))
            nghttp2_session_terminate_session(session, NGHTTP2_PROTOCOL_ERROR.rawValue)
            isTerminated = true
        }
    }

    /// The application's answer on stream `streamID`; ignored if the stream is gone or already answered.
    func deliver(_ response: HTTPResponse, to streamID: Int32, now: UInt64) {
        self.now = now
        guard openSession != nil, let stream = stream(streamID), !stream.hasResponse else { return }
        respond(to: stream, with: response)
    }

    /// Hands nghttp2's pending frames to `write`, while fewer than `room` bytes were written by this call.
    func produceOutput(now: UInt64, room: Int, into write: (UnsafeRawBufferPointer) -> Void) -> OutputState {
        guard let session = openSession else { return .finished }
        self.now = now
        var written = 0
        while written < room {
            var data: UnsafePointer<UInt8>?
            let count = nghttp2_session_mem_send(session, &data)
            if count < 0 { return .failed("HTTP/2 send: \(Self.describe(Int32(truncatingIfNeeded: count)))") }
            guard count > 0, let data else { break }
            write(UnsafeRawBufferPointer(start: data, count: count))
            written += count
        }
        let exchangeOver = nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0
        return exchangeOver || (isTerminated && nghttp2_session_want_write(session) == 0) ? .finished : .open
    }

    /// Per-stream deadlines: an incomplete request gets 408, an answered one whose rest never came and a response
    /// stalled by the peer's flow-control window are reset.
    func checkDeadlines(now: UInt64) {
        guard let session = openSession else { return }
        self.now = now
        let readTimeout = configuration.readTimeoutNanos
        for stream in streams.values {
            if !stream.isRequestComplete && !stream.hasResponse && now - stream.openedAt > readTimeout {
                record(.timedOut("HTTP/2 stream \(stream.id) request not complete"))
                respond(to: stream, with: TransportError.requestTimeout.response)
            } else if stream.hasResponse && !stream.isRequestComplete && now - stream.openedAt > readTimeout {
                // Answered early, but the rest of the request never came.
                nghttp2_submit_rst_stream(
                    session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, NGHTTP2_CANCEL.rawValue)
            } else if stream.hasUnsentResponseBytes && now - stream.lastSendProgress > configuration.stallTimeoutNanos {
                record(.timedOut("HTTP/2 stream \(stream.id) response stalled by flow control"))
                nghttp2_submit_rst_stream(
                    session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, NGHTTP2_CANCEL.rawValue)
            }
        }
    }

    /// The connection was idle too long: GOAWAY without error, then close.
    func closeIdle() {
        guard let session = openSession else { return }
        nghttp2_session_terminate_session(session, NGHTTP2_NO_ERROR.rawValue)
    }

    /// Server shutdown: streams up to the last one processed are still answered; nghttp2 ignores newer ones.
    func beginGracefulShutdown() {
        guard let session = openSession else { return }
        nghttp2_submit_goaway(
            session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nghttp2_session_get_last_proc_stream_id(session),
            NGHTTP2_NO_ERROR.rawValue, nil, 0)
    }

    /// The open stream `id`, if any.
    func stream(_ id: Int32) -> HTTP2Stream? {
        if let recentStream, recentStream.id == id { return recentStream }
        let found = streams[id]
        if found != nil { recentStream = found }
        return found
    }

    func addStream(_ stream: HTTP2Stream) {
        streams[stream.id] = stream
    }

    /// Removes stream `id` from the open streams.
    func removeStream(_ id: Int32) -> HTTP2Stream? {
        if recentStream?.id == id { recentStream = nil }
        return streams.removeValue(forKey: id)
    }

    /// The connection is gone: unanswered requests are cancelled and nothing more is exchanged.
    func connectionClosed() {
        guard !isClosed else { return }
        isClosed = true
        for stream in streams.values where !stream.hasResponse { stream.cancellation?.cancel() }
        streams = [:]
        recentStream = nil
        actions.removeAll()
        nextActionIndex = 0
    }

    // MARK: Actions

    func record(_ action: Action) {
        actions.append(action)
    }

    /// The next action in the order they arose, or nil (the storage is kept for the next ones).
    func nextAction() -> Action? {
        guard nextActionIndex < actions.count else {
            if nextActionIndex > 0 {
                actions.removeAll(keepingCapacity: true)
                nextActionIndex = 0
            }
            return nil
        }
        defer { nextActionIndex += 1 }
        return actions[nextActionIndex]
    }

    static func describe(_ code: Int32) -> String {
        String(cString: nghttp2_strerror(code))
    }
}
