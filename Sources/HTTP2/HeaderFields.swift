import CNghttp2

/// Response header hygiene shared by both protocols, and the `nghttp2_nv` array builder.
enum HeaderFields {
    /// Fields the transport sets itself, or that are connection-specific (forbidden in HTTP/2, RFC 9113 §8.2.2).
    private static let reserved: Set<String> = [
        "content-length", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
    ]

    /// Lower-cased, valid fields only: names are tokens, values carry no CR, LF or NUL (no response splitting).
    static func sanitized(_ headers: [(name: String, value: String)]) -> [(String, String)] {
        headers.compactMap { field in
            let name = field.name.lowercased()
            guard !name.isEmpty, name.utf8.allSatisfy(ASCII.isTokenCharacter), !reserved.contains(name),
                field.value.utf8.allSatisfy({ $0 != ASCII.cr && $0 != ASCII.lf && $0 != 0 })
            else { return nil }
            return (name, field.value)
        }
    }

    /// Calls `body` with an `nghttp2_nv` array pointing into one contiguous copy of all names and values.
    /// nghttp2 copies the pairs on submit, so the storage only has to outlive the call.
    static func withNameValuePairs(
        _ fields: [(String, String)], _ body: (UnsafeMutablePointer<nghttp2_nv>, Int) -> Int32
    ) -> Int32 {
        var storage: [UInt8] = []
        var ranges: [(name: Range<Int>, value: Range<Int>)] = []
        for (name, value) in fields {
            let nameStart = storage.count
            storage += name.utf8
            let valueStart = storage.count
            storage += value.utf8
            ranges.append((nameStart..<valueStart, valueStart..<storage.count))
        }
        storage.append(0)  // never empty, so the base address exists
        return storage.withUnsafeMutableBufferPointer { bytes in
            let base = bytes.baseAddress!
            var pairs = ranges.map { range in
                nghttp2_nv(
                    name: base + range.name.lowerBound, value: base + range.value.lowerBound,
                    namelen: range.name.count, valuelen: range.value.count, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            return pairs.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
        }
    }
}
