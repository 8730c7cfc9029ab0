import CNghttp2

/// The nghttp2 callbacks: capture-less closures (so they convert to C function pointers) that recover the core
/// from `user_data` and call one method. Registered once, shared by every session.
extension HTTP2ServerCore {
    /// nghttp2 copies the callbacks into each session, so one immutable object serves all of them.
    nonisolated(unsafe) static let callbacks: OpaquePointer = makeCallbacks()

    /// Response bodies are pulled from the stream's buffer by this callback.
    static let readResponseBody: nghttp2_data_source_read_callback = { _, streamID, buffer, length, flags, _, user in
        guard let user, let buffer, let flags else { return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
        return coreFromUserData(user).readResponseBody(streamID: streamID, into: buffer, length: length, flags: flags)
    }

    private static func makeCallbacks() -> OpaquePointer {
        var created: OpaquePointer?
        guard nghttp2_session_callbacks_new(&created) == 0, let callbacks = created else {
            fatalError("nghttp2_session_callbacks_new: out of memory")
        }
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, user in
            guard let frame, let user else { return callbackFailure }
            return coreFromUserData(user).onBeginHeaders(frame.pointee)
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) {
            _, frame, name, nameLength, value, valueLength, _, user in
            guard let frame, let name, let value, let user else { return callbackFailure }
            return coreFromUserData(user).onHeader(
                frame.pointee, name: UnsafeBufferPointer(start: name, count: nameLength),
                value: UnsafeBufferPointer(start: value, count: valueLength))
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, user in
            guard let frame, let user else { return callbackFailure }
            return coreFromUserData(user).onFrameReceived(frame.pointee)
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, streamID, data, length, user in
            guard let user else { return callbackFailure }
            return coreFromUserData(user).onDataChunk(
                streamID: streamID, UnsafeBufferPointer(start: data, count: data == nil ? 0 : length))
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, streamID, errorCode, user in
            guard let user else { return callbackFailure }
            return coreFromUserData(user).onStreamClosed(streamID: streamID, errorCode: errorCode)
        }
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks) { _, frame, user in
            guard let frame, let user else { return callbackFailure }
            return coreFromUserData(user).onFrameSent(frame.pointee)
        }
        nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks) { _, frame, errorCode, user in
            guard let frame, let user else { return callbackFailure }
            return coreFromUserData(user).onInvalidFrame(frame.pointee, errorCode: errorCode)
        }
        return callbacks
    }
}

/// File-scope, so the closures above capture nothing (not even the metatype) and convert to C function pointers.
private let callbackFailure = Int32(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue)

/// `user_data` is the core itself, unretained: the core deletes its nghttp2 session in its deinit, so no callback
/// outlives it.
private func coreFromUserData(_ user: UnsafeMutableRawPointer) -> HTTP2ServerCore {
    Unmanaged<HTTP2ServerCore>.fromOpaque(user).takeUnretainedValue()
}
