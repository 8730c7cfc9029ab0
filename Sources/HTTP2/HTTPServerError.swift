/// Why `HTTPServer.start()` failed.
public enum HTTPServerError: Error, Sendable, CustomStringConvertible {
    /// `host` is not a numeric IPv4/IPv6 address or `port` is out of range.
    case invalidAddress(host: String, port: Int)
    /// A socket call failed; `errno` as returned.
    case socket(operation: String, errno: Int32)
    /// The TLS certificate or key could not be loaded; OpenSSL's reason.
    case tls(String)
    /// `start()` was called twice, or after `shutdown`.
    case alreadyStarted

    public var description: String {
        switch self {
        case .invalidAddress(let host, let port): "invalid listen address \(host):\(port)"
        case .socket(let operation, let code): "\(operation) failed: errno \(code)"
        case .tls(let reason): "TLS setup failed: \(reason)"
        case .alreadyStarted: "server already started"
        }
    }
}
