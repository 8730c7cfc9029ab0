/// Small, allocation-light JSON output: the one writer for response bodies and the project's error format, used by
/// the transport's own answers and by the application's.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                bytes.append(Self.hex[Int(byte >> 4)])
                bytes.append(Self.hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Shortest round-trip form (the text of `description`); non-finite values (impossible for probabilities)
    /// become null.
    public mutating func number(_ value: Double) {
        guard value.isFinite else { return raw("null") }
        value.write(to: &self)
    }

    public mutating func number(_ value: Float) {
        guard value.isFinite else { return raw("null") }
        value.write(to: &self)
    }

    public mutating func number(_ value: Int) { bytes.append(contentsOf: String(value).utf8) }

    private static let hex = Array("0123456789abcdef".utf8)

    /// The project's error body: `{"error": {"code": "<snake_case>", "message": "<text>"}}`.
    public static func error(code: String, message: String) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"error\":{\"code\":")
        writer.string(code)
        writer.raw(",\"message\":")
        writer.string(message)
        writer.raw("}}")
        return writer.bytes
    }
}

/// Numbers are written through the standard library's own formatting, straight into the buffer: `Double.write(to:)`
/// hands its digits to `_writeASCII` from a stack buffer, where `description` would build a `String` (a heap
/// allocation for the 16–24 characters of most scores; measured: 100 mallocs per 100-candidate response).
extension JSONWriter: TextOutputStream {
    public mutating func write(_ string: String) { bytes.append(contentsOf: string.utf8) }

    public mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: buffer) }
}
