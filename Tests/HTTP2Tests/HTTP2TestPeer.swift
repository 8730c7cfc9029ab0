import CNghttp2

/// A real HTTP/2 client (an nghttp2 client session) that exchanges bytes in memory: requests go out through
/// `outgoing()`, the server's bytes come in through `receive(_:)`, and what it saw is kept per stream. The other
/// side of `HTTP2ServerCore` in tests, so those need no socket.
final class HTTP2TestPeer {
    struct Stream {
        var status: Int?
        var headers: [(name: String, value: String)] = []
        /// Fields of a HEADERS frame after the body.
        var trailers: [(name: String, value: String)] = []
        var body: [UInt8] = []
        /// The error code the stream closed with (0: NO_ERROR), once closed.
        var closedWith: UInt32?
        /// A RST_STREAM from the server, with its error code.
        var resetWith: UInt32?

        var text: String { String(decoding: body, as: UTF8.self) }
    }

    private(set) var streams: [Int32: Stream] = [:]
    /// The server's GOAWAY, when one came.
    private(set) var goAway: (lastStreamID: Int32, errorCode: UInt32)?
    private var session: OpaquePointer?
    /// Request bodies still to send, by stream; `endsStream`: END_STREAM on the last DATA frame.
    private var pendingBodies: [Int32: (bytes: [UInt8], offset: Int, endsStream: Bool)] = [:]

    /// `settings`: the client's SETTINGS (for example an initial window of 0, so no response body can flow).
    init(settings: [(id: nghttp2_settings_id, value: UInt32)] = []) {
        var created: OpaquePointer?
        let user = Unmanaged.passUnretained(self).toOpaque()
        precondition(nghttp2_session_client_new(&created, Self.callbacks, user) == 0)
        session = created
        var entries = settings.map { nghttp2_settings_entry(settings_id: Int32($0.id.rawValue), value: $0.value) }
        precondition(nghttp2_submit_settings(session, 0, &entries, entries.count) == 0)
    }

    deinit { nghttp2_session_del(session) }

    /// Opens a stream: HEADERS, then `body` as DATA if given. Without `endStream` the request stays open.
    @discardableResult
    func request(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil, endStream: Bool = true
    ) -> Int32 {
        let fields = [(":method", method), (":path", path), (":scheme", "http"), (":authority", "core.test")] + headers
        let id: Int32
        if let body {
            // HEADERS then DATA: the stream exists only once its HEADERS are serialised, so both go in one submit.
            var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: Self.readBody)
            id = withNameValues(fields) { nghttp2_submit_request(session, nil, $0, $1, &provider, nil) }
            pendingBodies[id] = (body, 0, endStream)
        } else {
            let flags = endStream ? UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) : 0
            id = withNameValues(fields) { nghttp2_submit_headers(session, flags, -1, nil, $0, $1, nil) }
        }
        precondition(id > 0, "nghttp2_submit: \(id)")
        return id
    }

    func ping() {
        precondition(nghttp2_submit_ping(session, 0, nil) == 0)
    }

    func reset(_ id: Int32) {
        precondition(nghttp2_submit_rst_stream(session, 0, id, NGHTTP2_CANCEL.rawValue) == 0)
    }

    /// Everything the client has to send now.
    func outgoing() -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            var data: UnsafePointer<UInt8>?
            let count = nghttp2_session_mem_send(session, &data)
            precondition(count >= 0, "client mem_send: \(count)")
            guard count > 0, let data else { return bytes }
            bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: count))
        }
    }

    /// The server's bytes; false when the client session refused them.
    @discardableResult
    func receive(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { nghttp2_session_mem_recv(session, $0.baseAddress, $0.count) } >= 0
    }

    subscript(id: Int32) -> Stream { streams[id] ?? Stream() }

    /// Calls `body` with the fields as nghttp2 name/value pairs (nghttp2 copies them on submit).
    private func withNameValues<R>(_ fields: [(String, String)], _ body: (UnsafeMutablePointer<nghttp2_nv>, Int) -> R)
        -> R
    {
        func copy(_ text: String) -> (UnsafeMutablePointer<UInt8>, Int) {
            let bytes = Array(text.utf8)
            let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, bytes.count))
            pointer.initialize(from: bytes, count: bytes.count)
            return (pointer, bytes.count)
        }
        let copies = fields.map { (copy($0.0), copy($0.1)) }
        defer {
            for (name, value) in copies {
                name.0.deallocate()
                value.0.deallocate()
            }
        }
        var pairs = copies.map { name, value in
            nghttp2_nv(
                name: name.0, value: value.0, namelen: name.1, valuelen: value.1,
                flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
        }
        return body(&pairs, pairs.count)
    }

    // MARK: Callbacks

    private static func peer(_ user: UnsafeMutableRawPointer?) -> HTTP2TestPeer {
        Unmanaged<HTTP2TestPeer>.fromOpaque(user!).takeUnretainedValue()
    }

    private static let readBody: nghttp2_data_source_read_callback = { _, id, buffer, length, flags, _, user in
        let peer = HTTP2TestPeer.peer(user)
        guard var pending = peer.pendingBodies[id], let buffer, let flags else { return 0 }
        let count = min(length, pending.bytes.count - pending.offset)
        pending.bytes.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress! + pending.offset, count: count) }
        pending.offset += count
        if pending.offset == pending.bytes.count {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            if !pending.endsStream { flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue }
            peer.pendingBodies[id] = nil
        } else {
            peer.pendingBodies[id] = pending
        }
        return count
    }

    nonisolated(unsafe) private static let callbacks: OpaquePointer = {
        var created: OpaquePointer?
        precondition(nghttp2_session_callbacks_new(&created) == 0)
        let callbacks = created!
        nghttp2_session_callbacks_set_on_header_callback(callbacks) {
            _, frame, name, nameLength, value, valueLength, _, user in
            guard let frame, let namePointer = name, let valuePointer = value else { return 0 }
            let name = String(decoding: UnsafeBufferPointer(start: namePointer, count: nameLength), as: UTF8.self)
            let value = String(decoding: UnsafeBufferPointer(start: valuePointer, count: valueLength), as: UTF8.self)
            let id = frame.pointee.hd.stream_id
            let peer = HTTP2TestPeer.peer(user)
            if name == ":status" {
                peer.streams[id, default: Stream()].status = Int(value)
            } else if frame.pointee.headers.cat == NGHTTP2_HCAT_HEADERS {
                peer.streams[id, default: Stream()].trailers.append((name, value))
            } else {
                peer.streams[id, default: Stream()].headers.append((name, value))
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, id, data, length, user in
            guard let data else { return 0 }
            HTTP2TestPeer.peer(user).streams[id, default: Stream()].body.append(
                contentsOf: UnsafeBufferPointer(start: data, count: length))
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, user in
            guard let frame else { return 0 }
            let peer = HTTP2TestPeer.peer(user)
            switch UInt32(frame.pointee.hd.type) {
            case NGHTTP2_GOAWAY.rawValue:
                peer.goAway = (frame.pointee.goaway.last_stream_id, frame.pointee.goaway.error_code)
            case NGHTTP2_RST_STREAM.rawValue:
                peer.streams[frame.pointee.hd.stream_id, default: Stream()].resetWith =
                    frame.pointee.rst_stream.error_code
            default: break
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, id, errorCode, user in
            HTTP2TestPeer.peer(user).streams[id, default: Stream()].closedWith = errorCode
            return 0
        }
        return callbacks
    }()
}
