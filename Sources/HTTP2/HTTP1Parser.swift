/// Sans-I/O HTTP/1.1 request parser: bytes in, events out, no sockets, clocks or allocation limits beyond its own.
///
/// `append` buffers input; `next()` returns the next event or `nil` when it needs more bytes. Events per request:
/// `.head`, zero or more `.body`, `.end`; pipelined requests follow each other. `.error` is final: the parser then
/// returns `nil` forever. Lines must end in CRLF; heads are bounded by `maxHeaderBytes`, bodies (Content-Length or
/// chunked) by `maxBodyBytes`.
struct HTTP1Parser {
    enum Event {
        case head(HTTP1RequestHead)
        case body(ArraySlice<UInt8>)
        case end
        case error(HTTP1ParseError)
    }

    private enum State {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(seen: Int)
        case end
        case failed
    }

    /// Longest chunk-size line (with extensions) accepted.
    private static let maxChunkLineBytes = 1024
    /// Empty lines tolerated before a request line (RFC 9112 §2.2 says "at least one").
    private static let maxLeadingEmptyLines = 4

    let maxHeaderBytes: Int
    let maxBodyBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0
    /// Bytes after `start` already searched for the end of the head.
    private var scanned = 0
    private var state = State.head
    private var bodyBytes = 0
    private var pendingError: HTTP1ParseError?

    init(maxHeaderBytes: Int, maxBodyBytes: Int) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
    }

    var bufferedByteCount: Int { buffer.count - start }

    /// True when no part of a request has been seen since the last `.end`.
    var isBetweenRequests: Bool {
        if case .head = state { return bufferedByteCount == 0 }
        return false
    }

    var hasFailed: Bool {
        if case .failed = state { return true }
        return false
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if start > 0 && (start == buffer.count || start >= 4096 && start >= buffer.count / 2) {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Hands over everything not parsed yet (the h2 preface after an Upgrade) and stops parsing.
    mutating func takeBufferedBytes() -> [UInt8] {
        let rest = Array(buffer[start...])
        buffer = []
        start = 0
        state = .failed
        return rest
    }

    mutating func next() -> Event? {
        if let error = pendingError {
            pendingError = nil
            return fail(error)
        }
        switch state {
        case .failed: return nil
        case .head: return parseHead()
        case .fixedBody(let remaining): return takeBody(remaining) { .fixedBody(remaining: $0) }
        case .chunkSize: return parseChunkSize()
        case .chunkData(let remaining): return takeBody(remaining) { .chunkData(remaining: $0) }
        case .chunkDataEnd: return parseChunkDataEnd()
        case .trailers(let seen): return parseTrailers(seen: seen)
        case .end:
            state = .head
            bodyBytes = 0
            return .end
        }
    }

    private mutating func fail(_ error: HTTP1ParseError) -> Event {
        state = .failed
        buffer = []
        start = 0
        return .error(error)
    }

    private mutating func parseHead() -> Event? {
        var emptyLines = 0
        while bufferedByteCount >= 2 && buffer[start] == ASCII.cr && buffer[start + 1] == ASCII.lf {
            emptyLines += 1
            guard emptyLines <= Self.maxLeadingEmptyLines else { return fail(.malformedRequestLine) }
            start += 2
            scanned = 0
        }
        var index = start + scanned
        while index < buffer.count {
            if buffer[index] == ASCII.lf {
                guard index > start, buffer[index - 1] == ASCII.cr else { return fail(.bareLineFeed) }
                if index - start >= 3 && buffer[index - 2] == ASCII.lf && buffer[index - 3] == ASCII.cr {
                    return finishHead(headEnd: index - 3, next: index + 1)
                }
            }
            index += 1
        }
        scanned = buffer.count - start
        return bufferedByteCount > maxHeaderBytes ? fail(.headersTooLarge) : nil
    }

    private mutating func finishHead(headEnd: Int, next: Int) -> Event {
        guard next - start <= maxHeaderBytes else { return fail(.headersTooLarge) }
        let head: HTTP1RequestHead
        do {
            head = try HTTP1RequestHead(parsing: buffer[start..<headEnd])
        } catch {
            return fail(error)
        }
        start = next
        scanned = 0
        bodyBytes = 0
        if head.isChunked {
            state = .chunkSize
        } else if head.contentLength > maxBodyBytes {
            pendingError = .bodyTooLarge
        } else {
            state = head.contentLength > 0 ? .fixedBody(remaining: head.contentLength) : .end
        }
        return .head(head)
    }

    /// Up to `remaining` buffered body bytes; `nil` when none are buffered.
    private mutating func takeBody(_ remaining: Int, _ rest: (Int) -> State) -> Event? {
        let count = min(remaining, bufferedByteCount)
        guard count > 0 else { return nil }
        let slice = buffer[start..<(start + count)]
        start += count
        if remaining == count {
            if case .chunkData = state { state = .chunkDataEnd } else { state = .end }
        } else {
            state = rest(remaining - count)
        }
        return .body(slice)
    }

    /// The next CRLF-terminated line within `limit` bytes: `.some(nil)` = incomplete, `nil` = malformed.
    private mutating func takeLine(limit: Int) -> ArraySlice<UInt8>?? {
        guard let lf = buffer[start...].prefix(limit + 2).firstIndex(of: ASCII.lf) else {
            return bufferedByteCount > limit + 2 ? nil : .some(nil)
        }
        guard lf > start, buffer[lf - 1] == ASCII.cr else { return nil }
        let line = buffer[start..<(lf - 1)]
        start = lf + 1
        return .some(line)
    }

    private mutating func parseChunkSize() -> Event? {
        guard let taken = takeLine(limit: Self.maxChunkLineBytes) else { return fail(.malformedChunk) }
        guard let line = taken else { return nil }
        // chunk-size [ BWS ";" extensions ]: extensions are ignored.
        let digits = line.prefix { ASCII.hexValue($0) != nil }
        let rest = line.dropFirst(digits.count).drop { $0 == ASCII.space || $0 == ASCII.tab }
        guard !digits.isEmpty, digits.count <= 15, rest.isEmpty || rest.first == ASCII.semicolon else {
            return fail(.malformedChunk)
        }
        let size = digits.reduce(0) { $0 * 16 + ASCII.hexValue($1)! }
        if size == 0 {
            state = .trailers(seen: 0)
            return next()
        }
        guard bodyBytes + size <= maxBodyBytes else { return fail(.bodyTooLarge) }
        bodyBytes += size
        state = .chunkData(remaining: size)
        return next()
    }

    private mutating func parseChunkDataEnd() -> Event? {
        guard bufferedByteCount >= 2 else { return nil }
        guard buffer[start] == ASCII.cr && buffer[start + 1] == ASCII.lf else { return fail(.malformedChunk) }
        start += 2
        state = .chunkSize
        return next()
    }

    private mutating func parseTrailers(seen: Int) -> Event? {
        var seen = seen
        while true {
            guard let taken = takeLine(limit: max(0, maxHeaderBytes - seen)) else { return fail(.headersTooLarge) }
            guard let line = taken else {
                state = .trailers(seen: seen)
                return nil
            }
            if line.isEmpty {
                state = .end
                return next()
            }
            // Trailer fields are validated for syntax and size, then dropped.
            guard line.contains(ASCII.colon), line.allSatisfy({ $0 >= 0x20 || $0 == ASCII.tab }) else {
                return fail(.malformedHeader)
            }
            seen += line.count + 2
        }
    }
}
