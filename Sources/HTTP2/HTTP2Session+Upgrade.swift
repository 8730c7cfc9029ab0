import CNghttp2
import Synchronization

/// HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2): the request that asked becomes stream 1, half-closed by the client.
extension HTTP2Session {
    /// Applies the client's HTTP2-Settings and opens stream 1; `false` if nghttp2 rejects the payload.
    func acceptUpgrade(settingsPayload: [UInt8], method: String) -> Bool {
        guard let session else { return false }
        let result = settingsPayload.withUnsafeBufferPointer {
            nghttp2_session_upgrade2(session, $0.baseAddress, $0.count, method == "HEAD" ? 1 : 0, nil)
        }
        guard result == 0 else {
            connection.reportProtocolError("h2c upgrade refused: \(Self.describe(result))")
            return false
        }
        let stream = makeStream(id: 1)
        stream.method = method
        stream.request = .complete
        streams[1] = stream
        context.counters.openStreams.add(1, ordering: .relaxed)
        return true
    }

    /// Hands the upgraded request (already complete, no body) to the application on stream 1.
    func dispatchUpgradedRequest(_ request: HTTPRequest) {
        guard let stream = streams[1] else { return }
        dispatch(request, on: stream)
    }
}
