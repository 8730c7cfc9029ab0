import CNghttp2

/// Response header hygiene shared by both protocols.
enum HeaderFields {
    /// Fields the transport sets itself, or that are connection-specific (forbidden in HTTP/2, RFC 9113 §8.2.2).
    private static let reserved: [[UInt8]] = [
        "content-length", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
    ].map { Array($0.utf8) }

    /// Whether a response field may be sent: the name is a token and not reserved (compared lower-case), the
    /// value carries no CR, LF or NUL (no response splitting).
    static func isAllowed(name: String.UTF8View, value: String.UTF8View) -> Bool {
        guard !name.isEmpty, name.allSatisfy(ASCII.isTokenCharacter),
            value.allSatisfy({ $0 != ASCII.cr && $0 != ASCII.lf && $0 != 0 })
        else { return false }
        return !reserved.contains { $0.count == name.count && zip($0, name).allSatisfy { $0 == ASCII.lowercased($1) } }
    }

    /// The allowed fields, names lower-cased.
    static func sanitized(_ headers: [(name: String, value: String)]) -> [(String, String)] {
        headers.compactMap {
            isAllowed(name: $0.name.utf8, value: $0.value.utf8) ? ($0.name.lowercased(), $0.value) : nil
        }
    }
}

/// Response fields checked and lower-cased once, for an answer sent many times (a static route's): appending them
/// copies bytes.
struct CheckedFields: Sendable {
    let fields: [(name: [UInt8], value: [UInt8])]

    init(_ headers: [(name: String, value: String)]) {
        fields = HeaderFields.sanitized(headers).map { (Array($0.0.utf8), Array($0.1.utf8)) }
    }
}

/// One response's header block as `nghttp2_nv` pairs, built in storage that is reused from response to response,
/// so answering allocates nothing once the buffers have grown. nghttp2 copies the pairs on submit.
struct NameValueBuffer {
    private var bytes: [UInt8] = []
    /// Offsets into `bytes`: name start, value start, value end (the name ends where the value starts).
    private var spans: [(name: Int, value: Int, end: Int)] = []
    private var pairs: [nghttp2_nv] = []

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
    }

    mutating func append(name: StaticString, value: some Sequence<UInt8>) {
        let start = bytes.count
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        appendValue(value, nameStart: start)
    }

    /// An application field: dropped unless allowed; the name is lower-cased.
    mutating func append(field name: String, value: String) {
        guard HeaderFields.isAllowed(name: name.utf8, value: value.utf8) else { return }
        let start = bytes.count
        bytes.append(contentsOf: name.utf8.lazy.map(ASCII.lowercased))
        appendValue(value.utf8, nameStart: start)
    }

    mutating func append(_ checked: CheckedFields) {
        for field in checked.fields {
            let start = bytes.count
            bytes.append(contentsOf: field.name)
            appendValue(field.value, nameStart: start)
        }
    }

    /// A decimal number as the value (status codes, content-length).
    mutating func append(name: StaticString, decimal: Int) {
        let start = bytes.count
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        let valueStart = bytes.count
        var remaining = max(0, decimal)
        var digits = 1
        while remaining >= 10 {
            remaining /= 10
            digits += 1
        }
        bytes.append(contentsOf: repeatElement(ASCII.zero, count: digits))
        remaining = max(0, decimal)
        for index in (valueStart..<bytes.count).reversed() {
            bytes[index] = ASCII.zero + UInt8(remaining % 10)
            remaining /= 10
        }
        spans.append((start, valueStart, bytes.count))
    }

    private mutating func appendValue(_ value: some Sequence<UInt8>, nameStart: Int) {
        let valueStart = bytes.count
        bytes.append(contentsOf: value)
        spans.append((nameStart, valueStart, bytes.count))
    }

    /// Calls `body` with the pairs; they point into this buffer and are valid only during the call.
    mutating func withPairs(_ body: (UnsafeMutablePointer<nghttp2_nv>, Int) -> Int32) -> Int32 {
        // Moved out and back so the two buffers can be borrowed at once (no copy: each stays uniquely owned).
        var storage = bytes
        var built = pairs
        bytes = []
        pairs = []
        defer {
            storage.removeLast()
            bytes = storage
            pairs = built
        }
        storage.append(0)  // never empty, so the base address exists
        built.removeAll(keepingCapacity: true)
        return storage.withUnsafeMutableBufferPointer { storage in
            let base = storage.baseAddress!
            for span in spans {
                built.append(
                    nghttp2_nv(
                        name: base + span.name, value: base + span.value, namelen: span.value - span.name,
                        valuelen: span.end - span.value, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
            }
            return built.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
        }
    }
}
