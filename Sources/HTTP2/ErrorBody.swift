/// The project's JSON error format: `{"error": {"code": "<snake_case>", "message": "<text>"}}`.
enum ErrorBody {
    static func response(status: Int, code: String, message: String) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: [("content-type", "application/json")],
            body: Array("{\"error\":{\"code\":\"\(escaped(code))\",\"message\":\"\(escaped(message))\"}}".utf8))
    }

    /// JSON string escaping (RFC 8259 §7): quotes, backslash and control characters.
    static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
