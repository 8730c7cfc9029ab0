/// The request line and header fields of one HTTP/1.x request, with its framing decided.
struct HTTP1RequestHead {
    var method: String
    /// The request target as sent (origin form, absolute form or `*`).
    var target: String
    var path: String
    var query: String?
    /// `true` for HTTP/1.0 (keep-alive only on request, no chunked bodies).
    var isHTTP10: Bool
    /// Names lower-case, arrival order.
    var headers: [(name: String, value: String)]
    var contentLength: Int
    var isChunked: Bool
    var keepAlive: Bool
    var expectsContinue: Bool
    /// The `HTTP2-Settings` value when the client asked to upgrade to h2c (`Upgrade: h2c`).
    var http2Settings: String?

    var hasBody: Bool { isChunked || contentLength > 0 }

    /// Parses the head bytes without the final empty line; lines are CRLF-separated (bare LF already rejected).
    init(parsing bytes: ArraySlice<UInt8>) throws(HTTP1ParseError) {
        var lines = bytes.split(separator: ASCII.lf, omittingEmptySubsequences: false).map { line in
            line.last == ASCII.cr ? line.dropLast() : line
        }
        guard !lines.isEmpty else { throw .malformedRequestLine }
        let requestLine = lines.removeFirst()
        (method, target, path, query, isHTTP10) = try Self.parseRequestLine(requestLine)
        headers = try lines.map { line throws(HTTP1ParseError) in try Self.parseField(line) }
        let connection = Self.tokens(headers, "connection")
        (contentLength, isChunked) = try Self.framing(headers, isHTTP10: isHTTP10)
        keepAlive = isHTTP10 ? connection.contains("keep-alive") : !connection.contains("close")
        expectsContinue = !isHTTP10 && Self.tokens(headers, "expect") == ["100-continue"]
        let settings = headers.filter { $0.name == "http2-settings" }
        if connection.contains("upgrade"), Self.tokens(headers, "upgrade").contains("h2c"), settings.count == 1 {
            http2Settings = settings[0].value
        } else {
            http2Settings = nil
        }
    }

    private static func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTP1ParseError) -> (
        String, String, String, String?, Bool
    ) {
        let parts = line.split(separator: ASCII.space, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(ASCII.isTokenCharacter),
            !parts[1].isEmpty, parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { throw .malformedRequestLine }
        let isHTTP10: Bool
        switch String(decoding: parts[2], as: UTF8.self) {
        case "HTTP/1.1": isHTTP10 = false
        case "HTTP/1.0": isHTTP10 = true
        case let other where other.hasPrefix("HTTP/"): throw .unsupportedVersion
        default: throw .malformedRequestLine
        }
        let method = String(decoding: parts[0], as: UTF8.self)
        let target = String(decoding: parts[1], as: UTF8.self)
        var pathAndQuery = Substring(target)
        if target == "*" {
            guard method == "OPTIONS" else { throw .malformedRequestLine }
        } else if !target.hasPrefix("/") {
            // Absolute form (RFC 9112 §3.2.2): keep only the path and query.
            let lowered = target.lowercased()
            guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else { throw .malformedRequestLine }
            let afterAuthority = target.dropFirst(lowered.hasPrefix("https://") ? 8 : 7)
            pathAndQuery =
                afterAuthority.firstIndex(where: { $0 == "/" || $0 == "?" }).map { afterAuthority[$0...] } ?? ""
        }
        let questionMark = pathAndQuery.firstIndex(of: "?")
        var path = String(pathAndQuery[..<(questionMark ?? pathAndQuery.endIndex)])
        if path.isEmpty { path = target == "*" ? "*" : "/" }
        let query = questionMark.map { String(pathAndQuery[pathAndQuery.index(after: $0)...]) }
        return (method, target, path, query, isHTTP10)
    }

    private static func parseField(_ line: ArraySlice<UInt8>) throws(HTTP1ParseError) -> (name: String, value: String) {
        // Obsolete line folding and whitespace before the colon are rejected (RFC 9112 §5.1, §5.2).
        guard let colon = line.firstIndex(of: ASCII.colon), colon > line.startIndex,
            line[line.startIndex..<colon].allSatisfy(ASCII.isTokenCharacter)
        else { throw .malformedHeader }
        var value = line[(colon + 1)...]
        while let first = value.first, first == ASCII.space || first == ASCII.tab { value.removeFirst() }
        while let last = value.last, last == ASCII.space || last == ASCII.tab { value.removeLast() }
        guard value.allSatisfy({ ($0 >= 0x20 && $0 != 0x7F) || $0 == ASCII.tab }) else { throw .malformedHeader }
        let name = String(decoding: line[line.startIndex..<colon].map(ASCII.lowercased), as: UTF8.self)
        return (name, String(decoding: value, as: UTF8.self))
    }

    private static func framing(_ headers: [(name: String, value: String)], isHTTP10: Bool) throws(HTTP1ParseError)
        -> (Int, Bool)
    {
        let transferCodings = tokens(headers, "transfer-encoding")
        let lengths = headers.filter { $0.name == "content-length" }
            .flatMap { $0.value.split(separator: ",", omittingEmptySubsequences: false) }
            .map { $0.trimmingWhitespace() }
        if headers.contains(where: { $0.name == "transfer-encoding" }) {
            // Both framings at once is the classic request-smuggling vector: refuse rather than pick one.
            guard lengths.isEmpty, !isHTTP10 else { throw .conflictingFraming }
            guard transferCodings.last == "chunked" else {
                throw transferCodings.contains("chunked") ? .malformedChunk : .unsupportedTransferEncoding
            }
            guard transferCodings.count == 1 else { throw .unsupportedTransferEncoding }
            return (0, true)
        }
        guard let first = lengths.first else { return (0, false) }
        guard lengths.allSatisfy({ $0 == first }), !first.isEmpty, first.utf8.count <= 18,
            first.utf8.allSatisfy({ $0 >= ASCII.zero && $0 <= ASCII.nine }), let length = Int(first)
        else { throw .invalidContentLength }
        return (length, false)
    }

    /// Comma-separated, trimmed, lower-cased tokens of every field named `name`.
    private static func tokens(_ headers: [(name: String, value: String)], _ name: String) -> [String] {
        headers.filter { $0.name == name }.flatMap { $0.value.split(separator: ",") }
            .map { $0.trimmingWhitespace().lowercased() }.filter { !$0.isEmpty }
    }
}
