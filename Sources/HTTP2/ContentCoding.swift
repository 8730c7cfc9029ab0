/// Why a request body could not be decoded; `response` is the answer to send (400, 413 or 415).
public struct BodyDecodingError: Error, Sendable {
    let error: TransportError

    public var status: Int { error.status }
    public var code: String { error.code }
    public var message: String { error.message }
    public var response: HTTPResponse { error.response }
}

extension HTTPRequest {
    /// Whether the body has a content coding to undo (the transport hands bodies over as sent).
    public var isBodyEncoded: Bool {
        if case .success(let isGzip) = ContentCoding.isGzip(headers) { return isGzip }
        return true
    }

    /// The body with its `Content-Encoding` undone: gzip inflated to at most `limit` bytes (the application sets
    /// the limit from what a valid request can hold, so a gzip bomb stops there), identity as is.
    public func decodedBody(limit: Int) -> Result<[UInt8], BodyDecodingError> {
        ContentCoding.decodedBody(body, headers: headers, inflatedLimit: limit)
            .mapError { BodyDecodingError(error: $0) }
    }
}

/// Content-Encoding on both directions: inflate gzip request bodies (bounded), gzip responses the client accepts.
enum ContentCoding {
    /// Whether `content-encoding` names gzip (false: none or identity), or why it is not acceptable.
    static func isGzip(_ headers: [(name: String, value: String)]) -> Result<Bool, TransportError> {
        guard headers.contains(where: { $0.name == "content-encoding" }) else { return .success(false) }
        let codings = headers.filter { $0.name == "content-encoding" }.map(\.value)
        let coding = codings.joined(separator: ",").split(separator: ",")
            .map { $0.trimmingWhitespace().lowercased() }.filter { !$0.isEmpty && $0 != "identity" }
        if coding.isEmpty { return .success(false) }
        guard coding.count == 1, coding[0] == "gzip" || coding[0] == "x-gzip" else {
            return .failure(.unsupportedContentEncoding(coding.joined(separator: ", ")))
        }
        return .success(true)
    }

    static func decodedBody(
        _ body: [UInt8], headers: [(name: String, value: String)], inflatedLimit: Int
    ) -> Result<[UInt8], TransportError> {
        switch isGzip(headers) {
        case .failure(let error): return .failure(error)
        case .success(false): return .success(body)
        case .success(true): break
        }
        do {
            return .success(try Gzip.decompress(body, limit: inflatedLimit))
        } catch .tooLarge {
            return .failure(.inflatedBodyTooLarge(limit: inflatedLimit))
        } catch {
            return .failure(.corruptGzipBody)
        }
    }

    /// Whether an `Accept-Encoding` value admits gzip (explicitly or through `*`), honouring `q=0`.
    static func acceptsGzip(_ acceptEncoding: String?) -> Bool {
        guard let acceptEncoding else { return false }
        var gzipQuality: Double?
        var wildcardQuality: Double?
        for element in acceptEncoding.split(separator: ",") {
            let parts = element.split(separator: ";")
            guard let first = parts.first else { continue }
            let coding = first.trimmingWhitespace().lowercased()
            var quality = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0].trimmingWhitespace().lowercased() == "q" {
                    quality = Double(pair[1].trimmingWhitespace()) ?? 0
                }
            }
            switch coding {
            case "gzip", "x-gzip": gzipQuality = max(gzipQuality ?? 0, quality)
            case "*": wildcardQuality = quality
            default: break
            }
        }
        return (gzipQuality ?? wildcardQuality ?? 0) > 0
    }

    /// Gzips the body when allowed and worth it; adds `content-encoding` and `vary`.
    static func encodedResponse(_ response: HTTPResponse, clientAcceptsGzip: Bool, minimumBytes: Int) -> HTTPResponse {
        guard response.body.count >= minimumBytes, response.body.count > 0, response.status >= 200,
            response.status != 204, response.status != 304, response.trailers.isEmpty,
            !response.headers.contains(where: { $0.name.lowercased() == "content-encoding" })
        else { return response }
        var encoded = response
        encoded.headers.append(("vary", "accept-encoding"))
        guard clientAcceptsGzip, let compressed = Gzip.compress(response.body) else { return encoded }
        encoded.body = compressed
        encoded.headers.append(("content-encoding", "gzip"))
        return encoded
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (HTTP's OWS).
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
