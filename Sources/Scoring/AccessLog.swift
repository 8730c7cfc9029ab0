import HTTP2

#if canImport(Glibc)
    import Glibc
#endif

/// One JSON line per answered request (`access_log` in the configuration), as nginx's or Envoy's access logs give:
/// time, request id, trace context, method, path, route, protocol, status (and gRPC status), duration and sizes.
/// Each line is one `write` to a descriptor opened with `O_APPEND`, so lines from many threads never interleave
/// and no lock is needed.
public final class AccessLog: Sendable {
    private let fd: Int32
    private let ownsDescriptor: Bool

    /// "stdout", "stderr", or a file path (created if missing, appended to).
    public init(destination: String) throws(ConfigurationError) {
        switch destination {
        case "stdout": (fd, ownsDescriptor) = (STDOUT_FILENO, false)
        case "stderr": (fd, ownsDescriptor) = (STDERR_FILENO, false)
        default:
            let opened = open(destination, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard opened >= 0 else {
                throw ConfigurationError(
                    description: "access_log: cannot open \(destination): \(String(cString: strerror(errno)))")
            }
            (fd, ownsDescriptor) = (opened, true)
        }
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    struct Entry {
        let identity: RequestIdentity
        let method: String
        let path: String
        let version: HTTPRequest.Version
        let route: Route
        let response: HTTPResponse
        let requestBytes: Int
        let seconds: Double
    }

    func record(_ entry: Entry) {
        var line = JSONWriter(capacity: 384)
        line.raw("{\"time\":")
        line.string(Self.timestamp())
        line.raw(",\"request_id\":")
        line.string(entry.identity.requestID)
        if let trace = entry.identity.traceID, let parent = entry.identity.parentID {
            line.raw(",\"trace_id\":")
            line.string(trace)
            line.raw(",\"parent_id\":")
            line.string(parent)
        }
        line.raw(",\"method\":")
        line.string(entry.method)
        line.raw(",\"path\":")
        line.string(String(entry.path.prefix(1024)))
        line.raw(",\"route\":")
        line.string(entry.route.label)
        line.raw(entry.version == .http2 ? ",\"protocol\":\"HTTP/2\"" : ",\"protocol\":\"HTTP/1.1\"")
        line.raw(",\"status\":")
        line.number(entry.response.status)
        let grpcStatus =
            entry.response.headers.first { $0.name == "grpc-status" }
            ?? entry.response.trailers.first { $0.name == "grpc-status" }
        if let grpcStatus, let code = Int(grpcStatus.value) {
            line.raw(",\"grpc_status\":")
            line.number(code)
        }
        line.raw(",\"duration_ms\":")
        line.number((entry.seconds * 1e6).rounded() / 1e3)
        line.raw(",\"request_bytes\":")
        line.number(entry.requestBytes)
        line.raw(",\"response_bytes\":")
        line.number(entry.response.body.count)
        line.raw("}\n")
        line.bytes.withUnsafeBytes { bytes in
            _ = write(fd, bytes.baseAddress, bytes.count)  // a full disk loses log lines, never answers
        }
    }

    /// UTC, RFC 3339 with milliseconds.
    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = Int(now.tv_nsec / 1_000_000)
        let fraction = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):"
            + "\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)Z"
    }
}
