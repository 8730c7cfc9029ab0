import CNghttp2

/// HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2): the request that asked becomes stream 1, half-closed by the client.
extension HTTP2ServerCore {
    /// Applies the client's HTTP2-Settings and opens stream 1 for `request` (complete, no body), which is then
    /// dispatched like any other; `false` if nghttp2 rejects the payload.
    func acceptUpgrade(settingsPayload: [UInt8], request: HTTPRequest) -> Bool {
        guard let session = openSession else { return false }
        let result = settingsPayload.withUnsafeBufferPointer {
            nghttp2_session_upgrade2(session, $0.baseAddress, $0.count, request.method == "HEAD" ? 1 : 0, nil)
        }
        guard result == 0 else {
            record(.protocolError("h2c upgrade refused: \(Self.describe(result))"))
            return false
        }
        let stream = makeStream(id: 1)
        stream.method = request.method
        stream.request = .complete
        addStream(stream)
        dispatch(request, on: stream)
        return true
    }
}
