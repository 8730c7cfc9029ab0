import HTTP2
import SwiftProtobuf

/// gRPC over the daemon's own HTTP/2 server, for unary calls: a request body is one length-prefixed message; an
/// answer is HEADERS, one DATA message and trailers with `grpc-status`, or a single HEADERS frame carrying the
/// status when there is no message ("trailers-only"). Deadlines come from `grpc-timeout`.
enum GRPC {
    static let contentType = "application/grpc"

    /// gRPC status codes used here.
    enum Status: Int {
        case ok = 0
        case invalidArgument = 3
        case deadlineExceeded = 4
        case notFound = 5
        case resourceExhausted = 8
        case unimplemented = 12
        case internalError = 13
        case unavailable = 14
    }

    /// Whether a `content-type` is gRPC's (`application/grpc`, `application/grpc+proto`, …).
    static func isGRPC(_ contentType: String?) -> Bool {
        contentType?.lowercased().hasPrefix(Self.contentType) ?? false
    }

    /// The one message of a unary request body (5-byte prefix: compressed flag, big-endian length).
    static func message(in body: [UInt8]) throws(ScoringError) -> [UInt8] {
        guard body.count >= 5 else { throw .invalidRequest("the gRPC body holds no length-prefixed message") }
        guard body[0] == 0 else {
            throw ScoringError(
                status: 400, code: "unimplemented",
                message: "compressed gRPC messages are not supported; send them uncompressed")
        }
        let length = body[1..<5].reduce(0) { $0 << 8 | Int($1) }
        guard body.count == 5 + length else {
            throw .invalidRequest(
                "the gRPC body must hold exactly one message (\(length) bytes announced, \(body.count - 5) sent)")
        }
        return Array(body[5...])
    }

    /// The request message of a unary call.
    static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, from body: [UInt8]) throws(ScoringError) -> M {
        let bytes = try message(in: body)
        do {
            return try M(serializedBytes: bytes)
        } catch {
            throw .invalidRequest("the message is not a valid \(M.protoMessageName): \(error)")
        }
    }

    /// A successful unary answer carrying `message`.
    static func response(_ message: some SwiftProtobuf.Message) -> HTTPResponse {
        let bytes: [UInt8] = (try? message.serializedBytes()) ?? []
        var body = [UInt8](repeating: 0, count: 5)
        body.reserveCapacity(5 + bytes.count)
        for index in 0..<4 { body[1 + index] = UInt8(truncatingIfNeeded: bytes.count >> (8 * (3 - index))) }
        body.append(contentsOf: bytes)
        return HTTPResponse(
            status: 200, headers: [("content-type", contentType)], body: body,
            trailers: [("grpc-status", String(Status.ok.rawValue))])
    }

    /// A failed call: trailers-only, with the status the error maps to and its message.
    static func failure(_ error: ScoringError) -> HTTPResponse {
        failure(status(for: error), message: error.message)
    }

    static func failure(_ status: Status, message: String) -> HTTPResponse {
        HTTPResponse(
            status: 200,
            headers: [
                ("content-type", contentType), ("grpc-status", String(status.rawValue)),
                ("grpc-message", percentEncoded(message)),
            ])
    }

    /// The gRPC status of an error the HTTP routes answer with `error.status`.
    static func status(for error: ScoringError) -> Status {
        switch (error.code, error.status) {
        case ("overloaded", _): .resourceExhausted
        case ("shutting_down", _), ("not_ready", _): .unavailable
        case ("unimplemented", _), (_, 405): .unimplemented
        case (_, 400), (_, 415): .invalidArgument
        case (_, 404): .notFound
        case (_, 413): .resourceExhausted
        case (_, 408), (_, 504): .deadlineExceeded
        default: .internalError
        }
    }

    /// `grpc-timeout` (1 to 8 digits and a unit: H, M, S, m, u, n) in whole milliseconds, rounded up; nil when
    /// absent or malformed.
    static func timeoutMilliseconds(_ header: String?) -> Int? {
        guard let header, header.utf8.count >= 2, header.utf8.count <= 9, let unit = header.last,
            let value = Int(header.dropLast()), value >= 0
        else { return nil }
        let nanosecondsPerUnit: Int
        switch unit {
        case "H": nanosecondsPerUnit = 3_600_000_000_000
        case "M": nanosecondsPerUnit = 60_000_000_000
        case "S": nanosecondsPerUnit = 1_000_000_000
        case "m": nanosecondsPerUnit = 1_000_000
        case "u": nanosecondsPerUnit = 1_000
        case "n": nanosecondsPerUnit = 1
        default: return nil
        }
        let (nanoseconds, overflow) = value.multipliedReportingOverflow(by: nanosecondsPerUnit)
        let milliseconds = overflow ? Int.max / 1_000_000 : (nanoseconds + 999_999) / 1_000_000
        return max(1, min(milliseconds, 1_000_000_000))
    }

    /// `grpc-message` text: percent-encoding of every byte outside printable ASCII and of `%` itself.
    static func percentEncoded(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            if byte >= 0x20 && byte <= 0x7e && byte != UInt8(ascii: "%") {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return encoded
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
