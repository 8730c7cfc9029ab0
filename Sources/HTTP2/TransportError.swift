/// Request failures the transport answers itself, before or instead of the application.
enum TransportError: Error, Equatable {
    case malformedRequest(String)
    case headersTooLarge
    case bodyTooLarge(limit: Int)
    case inflatedBodyTooLarge(limit: Int)
    case corruptGzipBody
    case unsupportedContentEncoding(String)
    case unsupportedTransferEncoding
    case requestTimeout
    case shuttingDown
    case tlsRequired
    /// The memory budget cannot hold this request's body now.
    case memoryBudgetExhausted

    var status: Int {
        switch self {
        case .malformedRequest, .corruptGzipBody, .tlsRequired: 400
        case .requestTimeout: 408
        case .bodyTooLarge, .inflatedBodyTooLarge: 413
        case .unsupportedContentEncoding: 415
        case .headersTooLarge: 431
        case .unsupportedTransferEncoding: 501
        case .shuttingDown, .memoryBudgetExhausted: 503
        }
    }

    var code: String {
        switch self {
        case .malformedRequest: "malformed_request"
        case .headersTooLarge: "headers_too_large"
        case .bodyTooLarge: "body_too_large"
        case .inflatedBodyTooLarge: "inflated_body_too_large"
        case .corruptGzipBody: "invalid_gzip_body"
        case .unsupportedContentEncoding: "unsupported_content_encoding"
        case .unsupportedTransferEncoding: "unsupported_transfer_encoding"
        case .requestTimeout: "request_timeout"
        case .shuttingDown: "shutting_down"
        case .tlsRequired: "tls_required"
        case .memoryBudgetExhausted: "overloaded"
        }
    }

    var message: String {
        switch self {
        case .malformedRequest(let detail): "Malformed request: \(detail)"
        case .headersTooLarge: "Request headers are too large"
        case .bodyTooLarge(let limit): "Request body exceeds \(limit) bytes"
        case .inflatedBodyTooLarge(let limit): "Request body exceeds \(limit) bytes after gzip decoding"
        case .corruptGzipBody: "Request body is not valid gzip"
        case .unsupportedContentEncoding(let coding): "Unsupported content encoding '\(coding)'; only gzip is accepted"
        case .unsupportedTransferEncoding: "Only the chunked transfer coding is supported"
        case .requestTimeout: "Request was not received in time"
        case .shuttingDown: "Server is shutting down"
        case .tlsRequired: "This port requires TLS: connect with https://"
        case .memoryBudgetExhausted: "The server holds as many request bodies as its memory budget allows; retry later"
        }
    }

    var response: HTTPResponse {
        var response = HTTPResponse(
            status: status, headers: [("content-type", "application/json")],
            body: JSONWriter.error(code: code, message: message))
        if status == 503 { response.headers.append(("retry-after", "1")) }
        return response
    }
}
