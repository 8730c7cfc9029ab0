/// Content-Encoding on both directions: inflate gzip request bodies (bounded), gzip responses the client accepts.
enum ContentCoding {
    /// The request body as the handler should see it, and the headers without `content-encoding` once decoded.
    static func decodedRequest(
        body: [UInt8], headers: [(name: String, value: String)], inflatedLimit: Int
    ) -> Result<(body: [UInt8], headers: [(name: String, value: String)]), TransportError> {
        guard headers.contains(where: { $0.name == "content-encoding" }) else { return .success((body, headers)) }
        let codings = headers.filter { $0.name == "content-encoding" }.map(\.value)
        let coding = codings.joined(separator: ",").split(separator: ",")
            .map { $0.trimmingWhitespace().lowercased() }.filter { !$0.isEmpty && $0 != "identity" }
        if coding.isEmpty { return .success((body, headers)) }
        guard coding.count == 1, coding[0] == "gzip" || coding[0] == "x-gzip" else {
            return .failure(.unsupportedContentEncoding(coding.joined(separator: ", ")))
        }
        do {
            let inflated = try Gzip.decompress(body, limit: inflatedLimit)
            return .success((inflated, headers.filter { $0.name != "content-encoding" && $0.name != "content-length" }))
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
            response.status != 204, response.status != 304,
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
