import CNghttp2
import Dispatch
import Synchronization

/// One connection's nghttp2 server session: bytes in through `receive`, frames out through `flush` (under TLS all
/// frames gathered into one buffer per flush, so TLS makes one record batch, SWIFT-NOTES pitfall 10).
/// All state is confined to the connection's queue.
final class HTTP2Session: @unchecked Sendable, ProtocolDriver {
    /// Strong, for the reason given at `HTTP1Connection.connection`; `Connection.close()` breaks the cycle.
    let connection: Connection
    private(set) var session: OpaquePointer?
    /// The allocator behind `session` (`funnel_pool` in the CNghttp2 shim); freed after the session.
    private let pool: UnsafeMutablePointer<funnel_pool>
    var streams: [Int32: HTTP2Stream] = [:]
    /// Closed streams' objects, kept for reuse (`makeStream`), at most `maxSpareStreams`.
    var spareStreams: [HTTP2Stream] = []
    static let maxSpareStreams = 32
    var invalidFrames = 0
    /// Nesting depth of calls into nghttp2; the session is never deleted from inside one of its callbacks.
    private var nghttp2Depth = 0
    private var isDeletePending = false
    /// The thread running the application's `handle` for this session, while it runs (0 otherwise), and the
    /// stream it handles: the answer to that stream given on that thread is inline (see `dispatch`) and parked in
    /// `inlineResponse`. `inlineStreamID` is read only after `inlineThread` matched, i.e. on the queue's thread.
    let inlineThread = Atomic<UInt>(0)
    var inlineStreamID: Int32 = 0
    var inlineResponse: HTTPResponse?
    /// Reused for every response's header block and every flush's frames (no allocation per request).
    var responseFields = NameValueBuffer()
    private var frames: [UInt8] = []

    init?(connection: Connection) {
        self.connection = connection
        guard let pool = funnel_pool_create() else { return nil }
        self.pool = pool
        let configuration = connection.context.configuration
        let limits = configuration.http2
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
        else {
            nghttp2_session_del(session)
            self.session = nil
            return nil
        }
    }

    deinit {
        if let session { nghttp2_session_del(session) }
        funnel_pool_destroy(pool)
    }

    var context: ServerContext { connection.context }

    // MARK: ProtocolDriver

    func receive(_ bytes: UnsafeRawBufferPointer) {
        guard let session else { return }
        nghttp2Depth += 1
        let result = nghttp2_session_mem_recv(session, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        nghttp2Depth -= 1
        guard !deleteIfPending() else { return }
        if result < 0 {
            // Fatal for the session (bad preface, flood, callback failure): nothing more can be exchanged.
            connection.reportProtocolError("HTTP/2: \(Self.describe(Int32(truncatingIfNeeded: result)))")
            nghttp2_session_terminate_session(session, NGHTTP2_PROTOCOL_ERROR.rawValue)
            flush()
            connection.closeAfterFlush()
            return
        }
        flush()
    }

    /// Moves frames from nghttp2 to the connection (bounded by the output limit), then writes them. In cleartext
    /// each frame is copied once, straight into the output queue; under TLS they are gathered first, so a flush
    /// makes one batch of records.
    func flush() {
        guard let session, connection.isOpen else { return }
        let gathers = connection.tls != nil
        frames.removeAll(keepingCapacity: frames.capacity <= 256 * 1024)
        let limit = context.configuration.maxOutputBufferBytes
        nghttp2Depth += 1
        var failure: Int = 0
        while connection.outputByteCount + frames.count < limit {
            var data: UnsafePointer<UInt8>?
            let count = nghttp2_session_mem_send(session, &data)
            if count < 0 { failure = count }
            guard count > 0, let data else { break }
            if gathers {
                frames.append(contentsOf: UnsafeBufferPointer(start: data, count: count))
            } else {
                connection.send(UnsafeRawBufferPointer(start: data, count: count))
            }
        }
        nghttp2Depth -= 1
        guard !deleteIfPending() else { return }
        connection.send(frames)
        // Sending can fail (TLS) and close the connection, which deletes the session.
        guard let session = self.session else { return }
        if failure < 0 {
            connection.reportProtocolError("HTTP/2 send: \(Self.describe(Int32(truncatingIfNeeded: failure)))")
            connection.closeAfterFlush()
        } else if nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0 {
            connection.closeAfterFlush()  // GOAWAY exchanged and no stream left
        }
        connection.flush()
    }

    func outputDidDrain() { flush() }

    func inputDidEnd() { connection.close() }

    var hasOpenRequests: Bool { !streams.isEmpty }

    var wantsInput: Bool { true }

    func checkDeadlines(now: UInt64) {
        guard let session else { return }
        for stream in streams.values {
            if !stream.isRequestComplete && !stream.hasResponse && now - stream.openedAt > context.readTimeoutNanos {
                connection.reportTimeout("HTTP/2 stream \(stream.id) request not complete")
                respond(to: stream, with: TransportError.requestTimeout.response)
            } else if stream.hasResponse && !stream.isRequestComplete && now - stream.openedAt > context.readTimeoutNanos {
                // Answered early, but the rest of the request never came.
                nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, NGHTTP2_CANCEL.rawValue)
            } else if stream.hasUnsentResponseBytes && now - stream.lastSendProgress > context.idleTimeoutNanos {
                connection.reportTimeout("HTTP/2 stream \(stream.id) response stalled by flow control")
                nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, NGHTTP2_CANCEL.rawValue)
            }
        }
        flush()
    }

    func closeIdle() {
        guard let session else { return }
        nghttp2_session_terminate_session(session, NGHTTP2_NO_ERROR.rawValue)
        flush()
    }

    func beginGracefulShutdown() {
        guard let session else { return }
        // Streams up to the last one processed are still answered; nghttp2 ignores newer ones.
        nghttp2_submit_goaway(
            session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nghttp2_session_get_last_proc_stream_id(session),
            NGHTTP2_NO_ERROR.rawValue, nil, 0)
        flush()
    }

    func connectionDidClose() {
        for stream in streams.values where !stream.hasResponse { stream.cancellation?.cancel() }
        context.counters.openStreams.subtract(streams.count, ordering: .relaxed)
        streams = [:]
        isDeletePending = true
        _ = deleteIfPending()
    }

    /// Deletes the nghttp2 session if it was condemned and no nghttp2 call is on the stack; `true` if gone.
    private func deleteIfPending() -> Bool {
        guard isDeletePending else { return false }
        if nghttp2Depth == 0, let session {
            nghttp2_session_del(session)
            self.session = nil
        }
        return true
    }

    static func describe(_ code: Int32) -> String {
        String(cString: nghttp2_strerror(code))
    }
}
