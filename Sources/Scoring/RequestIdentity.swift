import HTTP2
import Synchronization

/// Who a request is, for its answer and the logs: its `x-request-id` (the client's, echoed, or one made here) and
/// the W3C Trace Context (`traceparent`) it carries, if valid.
struct RequestIdentity: Sendable {
    let requestID: String
    /// The `traceparent` header's trace id (32 hex digits) and parent span id (16).
    let traceID: String?
    let parentID: String?

    init(_ request: HTTPRequest) {
        requestID = request.header("x-request-id").flatMap(Self.accepted) ?? Self.make()
        if let trace = request.header("traceparent").flatMap(Self.traceContext) {
            (traceID, parentID) = (trace.traceID, trace.parentID)
        } else {
            (traceID, parentID) = (nil, nil)
        }
    }

    /// A client's id is echoed when it is 1 to 128 visible ASCII characters (anything else is replaced: it goes
    /// into a response header and the logs).
    private static func accepted(_ id: String) -> String? {
        let bytes = id.utf8
        guard (1...128).contains(bytes.count), bytes.allSatisfy({ (0x21...0x7e).contains($0) }) else { return nil }
        return id
    }

    /// 15 hex digits: unique in the process (a counter), spread over the id space (SplitMix64 of it and the
    /// process's start), and short enough for Swift's inline strings, so making one allocates nothing.
    private static func make() -> String {
        var z = seed &+ counter.wrappingAdd(1, ordering: .relaxed).oldValue &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let hex = String(z >> 4, radix: 16)
        return String(repeating: "0", count: 15 - hex.utf8.count) + hex
    }

    private static let counter = Atomic<UInt64>(0)
    private static let seed = UInt64.random(in: 0...UInt64.max)

    /// `00-<trace-id>-<parent-id>-<flags>`, lower-case hex, ids not all zero (W3C Trace Context level 1; later
    /// versions may append fields, which are ignored).
    private static func traceContext(_ header: String) -> (traceID: String, parentID: String)? {
        let parts = header.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].utf8.count == 2, parts[0] != "ff", parts[1].utf8.count == 32,
            parts[2].utf8.count == 16, parts[3].utf8.count == 2, parts[0] == "00" ? parts.count == 4 : true,
            parts[0...3].allSatisfy({ $0.utf8.allSatisfy(isLowerHex) }),
            parts[1].utf8.contains(where: { $0 != UInt8(ascii: "0") }),
            parts[2].utf8.contains(where: { $0 != UInt8(ascii: "0") })
        else { return nil }
        return (String(parts[1]), String(parts[2]))
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}
