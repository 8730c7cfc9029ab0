#if canImport(Glibc)
    import Glibc
#endif

/// A strict RFC 8259 parser for request bodies: UTF-8 validated, nesting bounded, duplicate keys, NaN,
/// Infinity, comments, trailing commas and trailing garbage rejected, numbers that overflow a Double rejected.
/// Pure (bytes in, value out), so it can be fuzzed alone. `parse` builds a whole document; the request decoder
/// instead walks a body with the same checks (`parseKey`, `parseValue`, `skipValue`, `endOrComma`), building a value
/// only where it needs one.
struct JSONParser {
    static let maxDepth = 64

    static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in
            var parser = JSONParser(bytes: buffer)
            parser.skipWhitespace()
            let value = try parser.parseValue(depth: 0)
            parser.skipWhitespace()
            guard parser.position == buffer.count else { throw parser.error("unexpected data after the JSON value") }
            return value
        }
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private(set) var position = 0
    /// The members and elements of the objects and arrays being parsed, innermost last: one stack for the whole
    /// document, so a container allocates once, for its exact-size result (not once per doubling).
    private var members: [(key: String, value: JSONValue)] = []
    private var elements: [JSONValue] = []
    /// Objects with more members than this check duplicate keys with a set; smaller ones by comparing keys.
    private static let linearKeyCheckLimit = 16

    /// Raw key spans of the objects being skipped, innermost last (`skipValue`).
    private var keySpans: [Range<Int>] = []

    /// A parser at byte `position` of `bytes`, for a caller that reads a document piece by piece (the request
    /// decoder); `parse` is the whole-document entry.
    init(bytes: UnsafeBufferPointer<UInt8>, at position: Int = 0) {
        self.bytes = bytes
        self.position = position
        // Room for a request's usual nesting, so the stacks are allocated once rather than grown step by step.
        members.reserveCapacity(32)
        elements.reserveCapacity(32)
        keySpans.reserveCapacity(32)
    }

    /// Moves the cursor to `position` (a place this parser has already checked).
    mutating func seek(to position: Int) { self.position = position }

    func error(_ message: String) -> JSONParseError { JSONParseError(message: message, offset: position) }

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    /// Steps over `byte` when it is next (after whitespace); `false` otherwise.
    mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard current == byte else { return false }
        position += 1
        return true
    }

    /// After an array element or object member: `true` at the closing `close`, `false` after a comma.
    mutating func endOrComma(_ close: UInt8) throws(JSONParseError) -> Bool {
        skipWhitespace()
        switch current {
        case UInt8(ascii: ","):
            position += 1
            return false
        case close:
            position += 1
            return true
        default: throw error(close == UInt8(ascii: "]") ? "expected ',' or ']'" : "expected ',' or '}'")
        }
    }

    /// An object key and its colon.
    mutating func parseKey() throws(JSONParseError) -> String {
        skipWhitespace()
        guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
        let key = try parseString()
        skipWhitespace()
        guard current == UInt8(ascii: ":") else { throw error("expected ':'") }
        position += 1
        skipWhitespace()
        return key
    }

    mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private mutating func expect(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - position >= count,
            memcmp(bytes.baseAddress! + position, literal.utf8Start, count) == 0
        else { throw error("invalid literal") }
        position += count
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth < Self.maxDepth else { throw error("JSON nested deeper than \(Self.maxDepth) levels") }
        switch current {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expect("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expect("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expect("null")
            return .null
        case let byte? where byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte):
            return try parseNumber()
        case nil: throw error("unexpected end of JSON")
        default: throw error("unexpected character")
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        position += 1
        let first = members.count  // this object's members are members[first...]
        defer { members.removeSubrange(first...) }
        var keys: Set<String>?  // only for objects past `linearKeyCheckLimit` members
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            position += 1
            return .object([])
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyStart = position
            let key = try parseString()
            if members.count - first < Self.linearKeyCheckLimit {
                guard !members[first...].contains(where: { $0.key == key }) else {
                    throw JSONParseError(message: "duplicate key \"\(key)\"", offset: keyStart)
                }
            } else {
                if keys == nil { keys = Set(members[first...].map(\.key)) }
                guard keys!.insert(key).inserted else {
                    throw JSONParseError(message: "duplicate key \"\(key)\"", offset: keyStart)
                }
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':'") }
            position += 1
            skipWhitespace()
            let value = try parseValue(depth: depth + 1)
            members.append((key, value))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                return .object(Array(members[first...]))
            default: throw error("expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        position += 1
        let first = elements.count  // this array's elements are elements[first...]
        defer { elements.removeSubrange(first...) }
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            position += 1
            return .array([])
        }
        while true {
            skipWhitespace()
            let value = try parseValue(depth: depth + 1)
            elements.append(value)
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                return .array(Array(elements[first...]))
            default: throw error("expected ',' or ']'")
            }
        }
    }

    mutating func parseString() throws(JSONParseError) -> String {
        position += 1  // opening quote
        let start = position
        // Fast path: no escapes.
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 { position += 1 }
        if current == UInt8(ascii: "\"") {
            let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
            position += 1
            guard let string = String(validating: slice, as: UTF8.self) else {
                throw JSONParseError(message: "invalid UTF-8 in a string", offset: start)
            }
            return string
        }
        var scalars = Array(bytes[start..<position])
        while true {
            guard let byte = current else { throw error("unterminated string") }
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: scalars, as: UTF8.self) else {
                    throw JSONParseError(message: "invalid UTF-8 in a string", offset: start)
                }
                return string
            case UInt8(ascii: "\\"):
                try appendEscape(to: &scalars)
            case 0..<0x20:
                throw error("control character in a string")
            default:
                scalars.append(byte)
            }
        }
    }

    private mutating func appendEscape(to output: inout [UInt8]) throws(JSONParseError) {
        guard let byte = current else { throw error("unterminated escape") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(byte)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {  // a high surrogate must be followed by a low one
                guard current == UInt8(ascii: "\\") else { throw error("unpaired surrogate") }
                position += 1
                guard current == UInt8(ascii: "u") else { throw error("unpaired surrogate") }
                position += 1
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw error("unpaired surrogate")
            }
            output.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
        default:
            throw error("invalid escape")
        }
    }

    private mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard bytes.count - position >= 4 else { throw error("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = position
        if current == UInt8(ascii: "-") { position += 1 }
        func digits(_ parser: inout JSONParser) -> Int {
            let first = parser.position
            while let byte = parser.current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                parser.position += 1
            }
            return parser.position - first
        }
        let integerStart = position
        let integerDigits = digits(&self)
        guard integerDigits > 0 else { throw error("invalid number") }
        guard bytes[integerStart] != UInt8(ascii: "0") || integerDigits == 1 else {
            throw error("leading zero in a number")
        }
        var isInteger = true
        if current == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw error("invalid number") }
            isInteger = false
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw error("invalid number") }
            isInteger = false
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        if isInteger, let value = Int64(text) { return .int(value) }
        guard let value = Double(text), value.isFinite else {
            throw JSONParseError(message: "number out of range", offset: start)
        }
        return .double(value)
    }

    // MARK: Validating without building

    /// Checks the value at the cursor exactly as `parseValue` would, building nothing but an escaped string or a
    /// long number, and returns the number of elements when it is an array (0 otherwise).
    mutating func skipValue(depth: Int) throws(JSONParseError) -> Int {
        guard depth < Self.maxDepth else { throw error("JSON nested deeper than \(Self.maxDepth) levels") }
        switch current {
        case UInt8(ascii: "{"):
            try skipObject(depth: depth)
            return 0
        case UInt8(ascii: "["):
            position += 1
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                position += 1
                return 0
            }
            var count = 0
            repeat {
                skipWhitespace()
                _ = try skipValue(depth: depth + 1)
                count += 1
            } while try !endOrComma(UInt8(ascii: "]"))
            return count
        case UInt8(ascii: "\""):
            _ = try skipString()
            return 0
        default:
            _ = try parseValue(depth: depth)  // a literal or a number: nothing is allocated for them
            return 0
        }
    }

    private mutating func skipObject(depth: Int) throws(JSONParseError) {
        position += 1
        let first = keySpans.count
        defer { keySpans.removeSubrange(first...) }
        // Keys are compared as raw bytes while none has an escape (the bytes are then the text) and the object is
        // small; after that, as decoded strings in a set.
        var decodedKeys: Set<String>?
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            position += 1
            return
        }
        repeat {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyStart = position
            let (span, unescaped) = try skipString()
            let duplicate: Bool
            if decodedKeys == nil && unescaped == nil && keySpans.count - first < Self.linearKeyCheckLimit {
                let key = UnsafeBufferPointer(rebasing: bytes[span])
                duplicate = keySpans[first...].contains { $0.count == span.count && bytes[$0].elementsEqual(key) }
            } else {
                if decodedKeys == nil {
                    decodedKeys = Set(keySpans[first...].map { String(decoding: bytes[$0], as: UTF8.self) })
                }
                let key = unescaped ?? String(decoding: UnsafeBufferPointer(rebasing: bytes[span]), as: UTF8.self)
                duplicate = !decodedKeys!.insert(key).inserted
            }
            guard !duplicate else {
                let key = unescaped ?? String(decoding: UnsafeBufferPointer(rebasing: bytes[span]), as: UTF8.self)
                throw JSONParseError(message: "duplicate key \"\(key)\"", offset: keyStart)
            }
            keySpans.append(span)
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':'") }
            position += 1
            skipWhitespace()
            _ = try skipValue(depth: depth + 1)
        } while try !endOrComma(UInt8(ascii: "}"))
    }

    /// The string at the cursor, checked; returns the span of its raw content, and its text when it has escapes.
    private mutating func skipString() throws(JSONParseError) -> (span: Range<Int>, unescaped: String?) {
        let quote = position
        position += 1
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 { position += 1 }
        if current == UInt8(ascii: "\"") {
            let span = quote + 1..<position
            guard Self.isValidUTF8(UnsafeBufferPointer(rebasing: bytes[span])) else {
                throw JSONParseError(message: "invalid UTF-8 in a string", offset: quote + 1)
            }
            position += 1
            return (span, nil)
        }
        position = quote  // escapes, a control character or the end: the full parser checks (and decodes) it
        let text = try parseString()
        return (quote + 1..<position - 1, text)
    }

    private static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}
