import HTTP2
import Testing

@testable import Scoring

/// `x-request-id` acceptance and generation, and W3C `traceparent` validation.
struct RequestIdentityTests {
    static func identity(_ headers: [(String, String)]) -> RequestIdentity {
        RequestIdentity(HTTPRequest(method: "GET", path: "/", query: nil, headers: headers, version: .http2))
    }

    @Test func madeIDsAreFifteenHexDigitsAndDistinct() {
        let ids = (0..<1000).map { _ in Self.identity([]).requestID }
        #expect(Set(ids).count == 1000)
        #expect(ids.allSatisfy { $0.utf8.count == 15 && $0.allSatisfy(\.isHexDigit) })
    }

    @Test(arguments: [("abc-123", true), ("", false), ("has space", false), ("ünïcode", false)])
    func clientIDsAreEchoedWhenPrintable(_ id: String, _ echoed: Bool) {
        #expect((Self.identity([("x-request-id", id)]).requestID == id) == echoed)
    }

    @Test(arguments: [
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future", true),  // later versions may add fields
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", false),  // version 00 may not
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false),
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false),
        ("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", false),
    ])
    func traceparentIsReadWhenValid(_ header: String, _ valid: Bool) {
        let identity = Self.identity([("traceparent", header)])
        #expect((identity.traceID != nil) == valid)
        if valid {
            #expect(identity.traceID == "4bf92f3577b34da6a3ce929d0e0e4736" && identity.parentID == "00f067aa0ba902b7")
        }
    }
}
