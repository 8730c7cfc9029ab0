/// Why the HTTP/1.1 parser rejected its input; every case ends the connection after an error response.
enum HTTP1ParseError: Error, Equatable {
    case malformedRequestLine
    case malformedHeader
    case bareLineFeed
    case unsupportedVersion
    case headersTooLarge
    case bodyTooLarge
    case invalidContentLength
    case conflictingFraming
    case unsupportedTransferEncoding
    case malformedChunk

    var transportError: TransportError {
        switch self {
        case .malformedRequestLine: .malformedRequest("invalid request line")
        case .malformedHeader: .malformedRequest("invalid header field")
        case .bareLineFeed: .malformedRequest("lines must end with CRLF")
        case .unsupportedVersion: .malformedRequest("only HTTP/1.0 and HTTP/1.1 are supported")
        case .headersTooLarge: .headersTooLarge
        case .bodyTooLarge: .bodyTooLarge(limit: 0)
        case .invalidContentLength: .malformedRequest("invalid Content-Length")
        case .conflictingFraming: .malformedRequest("both Content-Length and Transfer-Encoding")
        case .unsupportedTransferEncoding: .unsupportedTransferEncoding
        case .malformedChunk: .malformedRequest("invalid chunked encoding")
        }
    }
}
