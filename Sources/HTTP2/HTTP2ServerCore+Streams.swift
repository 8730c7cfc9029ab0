import CNghttp2

#if canImport(Glibc)
    import Glibc
#endif

/// Per-stream work: the callback bodies (headers, data, close), handing complete requests to the application and
/// submitting responses.
extension HTTP2ServerCore {
    private static let endStream = UInt8(NGHTTP2_FLAG_END_STREAM.rawValue)

    func onBeginHeaders(_ frame: nghttp2_frame) -> Int32 {
        guard frame.hd.type == UInt8(NGHTTP2_HEADERS.rawValue), frame.headers.cat == NGHTTP2_HCAT_REQUEST else {
            return 0
        }
        addStream(makeStream(id: frame.hd.stream_id))
        return 0
    }

    /// A stream object for a new stream: a recycled one when the session has one.
    func makeStream(id: Int32) -> HTTP2Stream {
        guard let stream = spareStreams.popLast() else { return HTTP2Stream(id: id, openedAt: now) }
        stream.reset(id: id, openedAt: now)
        return stream
    }

    /// Keeps a closed stream's object for reuse; nothing else refers to it once it left `streams`.
    private func recycle(_ stream: HTTP2Stream) {
        guard spareStreams.count < Self.maxSpareStreams else { return }
        stream.body = []
        stream.response = .none
        stream.memory = nil
        spareStreams.append(stream)
    }

    func onHeader(_ frame: nghttp2_frame, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) -> Int32
    {
        guard let stream = stream(frame.hd.stream_id) else { return 0 }
        stream.headerBytes += name.count + value.count + 32
        // nghttp2 only advertises SETTINGS_MAX_HEADER_LIST_SIZE; bounding what we buffer is our job.
        if stream.headerBytes > configuration.maxHeaderListBytes {
            stream.request = .draining(.headersTooLarge)
            stream.headers = []
            return 0
        }
        // Trailers, and the fields of a refused header block, are dropped.
        guard frame.headers.cat == NGHTTP2_HCAT_REQUEST, stream.refusal != .headersTooLarge else { return 0 }
        guard name.first == UInt8(ascii: ":") else {
            if name.equals("content-length") { stream.declaredLength = Int(decimal: value) }
            // A static answer reads no field (pseudo-header fields come first, so the route is known by now).
            guard stream.staticRoute == nil else { return 0 }
            stream.headers.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            return 0
        }
        // Pseudo-headers by their bytes (no String per name); :scheme is not kept, and nghttp2 rejects unknown ones.
        if name.equals(":method") {
            stream.method = String(decoding: value, as: UTF8.self)
            findStaticRoute(stream)
        } else if name.equals(":path") {
            stream.path = String(decoding: value, as: UTF8.self)
            findStaticRoute(stream)
        } else if name.equals(":authority"), stream.staticRoute == nil {
            stream.authority = String(decoding: value, as: UTF8.self)
        }
        return 0
    }

    /// Once both `:method` and `:path` arrived (in either order): the static route answering them, if any.
    private func findStaticRoute(_ stream: HTTP2Stream) {
        guard stream.staticRoute == nil, let method = stream.method, let target = stream.path else { return }
        stream.staticRoute = StaticRoute.find(in: configuration.staticRoutes, method: method, target: target)
    }

    func onFrameReceived(_ frame: nghttp2_frame) -> Int32 {
        let type = frame.hd.type
        guard type == UInt8(NGHTTP2_HEADERS.rawValue) || type == UInt8(NGHTTP2_DATA.rawValue) else { return 0 }
        // Only requests keep a connection alive: a PING or SETTINGS now and then must not hold a slot forever.
        lastRequestFrameAt = now
        guard let stream = stream(frame.hd.stream_id) else { return 0 }
        if type == UInt8(NGHTTP2_HEADERS.rawValue) && frame.headers.cat == NGHTTP2_HCAT_REQUEST {
            if let error = earlyError(for: stream) { respond(to: stream, with: error.response) }
        }
        if frame.hd.flags & Self.endStream != 0 { complete(stream) }
        return 0
    }

    func onDataChunk(streamID: Int32, _ data: UnsafeBufferPointer<UInt8>) -> Int32 {
        guard let stream = stream(streamID) else { return 0 }
        stream.receivedBodyBytes += data.count
        guard !stream.hasResponse else { return 0 }
        let limit = configuration.maxRequestBodyBytes
        if stream.refusal == .bodyTooLarge || stream.body.count + data.count > limit {
            // Drain up to one more limit and answer at the end (clients such as curl 7.88 fail on an early answer
            // followed by a reset); beyond that, answer now and reset.
            stream.body = []
            stream.memory = nil
            stream.request = .draining(.bodyTooLarge)
            if stream.receivedBodyBytes > limit + drainableRemainder {
                respond(to: stream, with: TransportError.bodyTooLarge(limit: limit).response)
            }
            return 0
        }
        let memory = stream.memory ?? MemoryReservation(budget: configuration.memoryBudget)
        stream.memory = memory
        // A declared length sizes the body once, on its first bytes.
        let expected = stream.body.isEmpty ? stream.declaredLength.map { min($0, limit) } : nil
        guard memory.append(UnsafeRawBufferPointer(data), to: &stream.body, expectedTotal: expected) else {
            stream.body = []
            stream.memory = nil
            respond(to: stream, with: TransportError.memoryBudgetExhausted.response)
            return 0
        }
        return 0
    }

    func onStreamClosed(streamID: Int32, errorCode: UInt32) -> Int32 {
        guard let stream = removeStream(streamID) else { return 0 }
        // Reset or closed before the answer: let the application drop the work.
        if !stream.hasResponse || stream.hasUnsentResponseBytes { stream.cancellation?.cancel() }
        recycle(stream)
        return 0
    }

    func onFrameSent(_ frame: nghttp2_frame) -> Int32 {
        let type = frame.hd.type
        if type == UInt8(NGHTTP2_GOAWAY.rawValue) {
            reportGoAway(frame.goaway)
            return 0
        }
        if type == UInt8(NGHTTP2_RST_STREAM.rawValue) {
            record(
                .sentReset(
                    streamID: frame.hd.stream_id,
                    reason: String(cString: nghttp2_http2_strerror(frame.rst_stream.error_code))))
            return 0
        }
        guard type == UInt8(NGHTTP2_HEADERS.rawValue) || type == UInt8(NGHTTP2_DATA.rawValue),
            frame.hd.flags & Self.endStream != 0, let stream = stream(frame.hd.stream_id), !stream.isRequestComplete,
            let session = openSession
        else { return 0 }
        // Answered before the request ended (413, 431, 408). A declared remainder up to one more body limit is
        // drained; a larger or unknown one is stopped with RST_STREAM(NO_ERROR) (RFC 9113 §8.1). Draining matters
        // because curl 7.88 reports such a reset as a failed transfer even after the complete answer, and it
        // costs no more than one allowed request.
        let remaining = stream.declaredLength.map { $0 - stream.receivedBodyBytes }
        if remaining.map({ $0 > drainableRemainder }) ?? true {
            nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, NGHTTP2_NO_ERROR.rawValue)
        }
        return 0
    }

    /// Request body bytes still worth receiving and discarding after an early answer.
    private var drainableRemainder: Int { max(64 * 1024, configuration.maxRequestBodyBytes) }

    /// nghttp2 ends the connection itself on connection errors (no invalid-frame callback for most): log why.
    private func reportGoAway(_ goAway: nghttp2_goaway) {
        let reason =
            goAway.opaque_data.map {
                String(decoding: UnsafeBufferPointer(start: $0, count: goAway.opaque_data_len), as: UTF8.self)
            } ?? ""
        if goAway.error_code == NGHTTP2_NO_ERROR.rawValue {
            record(.sentGoAway(lastStreamID: goAway.last_stream_id))
        } else {
            record(
                .protocolError(
                    "HTTP/2 connection error \(String(cString: nghttp2_http2_strerror(goAway.error_code))): \(reason)"))
        }
    }

    func onInvalidFrame(_ frame: nghttp2_frame, errorCode: Int32) -> Int32 {
        invalidFrames += 1
        record(.protocolError("HTTP/2 invalid frame on stream \(frame.hd.stream_id): \(Self.describe(errorCode))"))
        // Peers that keep provoking stream errors (MadeYouReset, CVE-2025-8671) lose the connection.
        if invalidFrames > configuration.limits.maxInvalidFrames, let session = openSession {
            nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM.rawValue)
        }
        return 0
    }

    func readResponseBody(
        streamID: Int32, into buffer: UnsafeMutablePointer<UInt8>, length: Int, flags: UnsafeMutablePointer<UInt32>
    ) -> Int {
        guard let stream = stream(streamID), case .sending(let body, let offset, let trailers) = stream.response
        else {
            return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        let count = min(length, body.count - offset)
        if count > 0 { body.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress! + offset, count: count) } }
        stream.lastSendProgress = now
        guard offset + count == body.count else {
            stream.response = .sending(body: body, offset: offset + count, trailers: trailers)
            return count
        }
        flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
        stream.response = .sent
        if !trailers.isEmpty, let session = openSession {
            // The last DATA frame does not end the stream: the trailers' HEADERS frame does.
            responseFields.removeAll()
            for field in trailers { responseFields.append(field: field.name, value: field.value) }
            let result = responseFields.withPairs { pairs, fieldCount in
                nghttp2_submit_trailer(session, streamID, pairs, fieldCount)
            }
            if result == 0 { flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue }
        }
        return count
    }

    /// Errors visible from the header block alone, answered without waiting for the body.
    private func earlyError(for stream: HTTP2Stream) -> TransportError? {
        if stream.refusal == .headersTooLarge { return .headersTooLarge }
        let limit = configuration.maxRequestBodyBytes
        if let length = stream.declaredLength, length > limit + drainableRemainder {
            return .bodyTooLarge(limit: limit)  // too much to drain: answer now, then reset
        }
        return nil
    }

    private func complete(_ stream: HTTP2Stream) {
        let refusal = stream.refusal
        stream.request = .complete
        guard !stream.hasResponse else { return }
        if refusal == .bodyTooLarge {
            respond(to: stream, with: TransportError.bodyTooLarge(limit: configuration.maxRequestBodyBytes).response)
            return
        }
        guard let method = stream.method, let target = stream.path else {
            respond(to: stream, with: TransportError.malformedRequest("missing :method or :path").response)
            return
        }
        if let route = stream.staticRoute {
            route.recordServed()
            respond(to: stream, with: route.response, checkedFields: route.fields)
            return
        }
        var headers = stream.headers
        // :authority stands in for Host (RFC 9113 §8.3.1); give the application one name for both protocols.
        if let authority = stream.authority, !headers.contains(where: { $0.name == "host" }) {
            headers.append(("host", authority))
        }
        let questionMark = target.utf8.firstIndex(of: UInt8(ascii: "?"))
        let request = HTTPRequest(
            method: method, path: String(target[..<(questionMark ?? target.endIndex)]),
            query: questionMark.map { String(target[target.index(after: $0)...]) }, headers: headers, body: stream.body,
            version: .http2, memory: stream.memory)
        stream.body = []
        stream.memory = nil
        dispatch(request, on: stream)
    }

    /// Hands a complete request to the application (an action for the shell), with the means to cancel its work.
    func dispatch(_ request: HTTPRequest, on stream: HTTP2Stream) {
        let cancellation = RequestCancellation()
        stream.cancellation = cancellation
        record(.dispatch(request, streamID: stream.id, cancellation: cancellation))
    }

    /// Submits status, headers and content-length; the body is pulled by `readResponseBody`.
    /// `checkedFields`: the response's fields already checked and lower-cased (a static route's, built once).
    func respond(to stream: HTTP2Stream, with response: HTTPResponse, checkedFields: CheckedFields? = nil) {
        guard let session = openSession, !stream.hasResponse else { return }
        let status = (200...599).contains(response.status) ? response.status : 500
        let sendsBody =
            stream.method != "HEAD" && status != 204 && status != 304
            && !(response.body.isEmpty && response.trailers.isEmpty)
        responseFields.removeAll()
        responseFields.append(name: ":status", decimal: status)
        if let checkedFields {
            responseFields.append(checkedFields)
        } else {
            for field in response.headers { responseFields.append(field: field.name, value: field.value) }
        }
        if status != 204 && status != 304 {
            responseFields.append(name: "content-length", decimal: response.body.count)
        }
        stream.response = sendsBody ? .sending(body: response.body, offset: 0, trailers: response.trailers) : .sent
        stream.lastSendProgress = now
        var provider = nghttp2_data_provider(
            source: nghttp2_data_source(ptr: nil), read_callback: Self.readResponseBody)
        let result = responseFields.withPairs { pairs, count in
            sendsBody
                ? nghttp2_submit_response(session, stream.id, pairs, count, &provider)
                : nghttp2_submit_response(session, stream.id, pairs, count, nil)
        }
        if result != 0 {
            record(.protocolError("nghttp2_submit_response failed: \(Self.describe(result))"))
            nghttp2_submit_rst_stream(
                session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, NGHTTP2_INTERNAL_ERROR.rawValue)
        }
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Byte equality with a literal, without going through `String`.
    fileprivate func equals(_ literal: StaticString) -> Bool {
        count == literal.utf8CodeUnitCount && (count == 0 || memcmp(baseAddress!, literal.utf8Start, count) == 0)
    }
}

extension Int {
    /// A non-negative decimal number from ASCII digits (RFC 9110 `1*DIGIT`), nil for anything else or on overflow.
    fileprivate init?(decimal digits: UnsafeBufferPointer<UInt8>) {
        guard !digits.isEmpty else { return nil }
        var value = 0
        for digit in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return nil }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = shifted.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            guard !overflow && !carry else { return nil }
            value = sum
        }
        self = value
    }
}
