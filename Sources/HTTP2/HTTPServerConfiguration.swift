#if canImport(Glibc)
    import Glibc
#endif
/// Everything the transport needs to know, with defaults that are safe to expose to untrusted clients.
///
/// Sizes are in bytes, durations are `Duration`s. Every limit exists because some client will try to exceed it.
public struct HTTPServerConfiguration: Sendable {
    /// PEM files for TLS on the same port (first byte 0x16 selects TLS; ALPN chooses h2 or http/1.1).
    public struct TLS: Sendable {
        public var certificatePath: String
        public var privateKeyPath: String
        /// Also serve cleartext h2c and HTTP/1.1 on the TLS port. Off by default: a cleartext HTTP/1.1 request
        /// then gets 400 `tls_required`, any other cleartext connection is closed.
        public var allowsCleartext: Bool

        public init(certificatePath: String, privateKeyPath: String, allowsCleartext: Bool = false) {
            self.certificatePath = certificatePath
            self.privateKeyPath = privateKeyPath
            self.allowsCleartext = allowsCleartext
        }
    }

    /// nghttp2 hardening knobs (all exist in Debian's 1.52.0-1+deb12u2 and later, see SERVING.md §5.3).
    public struct HTTP2Limits: Sendable {
        /// Rapid Reset (CVE-2023-44487): token bucket of client RST_STREAMs; exhausted → GOAWAY.
        public var streamResetBurst: UInt64 = 1000
        /// Tokens regenerated per second.
        public var streamResetRatePerSecond: UInt64 = 33
        /// CONTINUATION flood (CVE-2024-28182): frames allowed after one HEADERS frame.
        public var maxContinuationFrames: Int = 8
        /// SETTINGS payload bomb (CVE-2020-11080): entries allowed in one SETTINGS frame.
        public var maxSettingsEntries: Int = 32
        /// Ping/Settings flood: queued outbound ACK frames before nghttp2 gives up on the peer.
        public var maxOutboundAcks: Int = 1000
        /// Invalid frames (protocol errors nghttp2 answers with RST_STREAM, e.g. MadeYouReset probes) tolerated per
        /// connection before it is terminated with ENHANCE_YOUR_CALM.
        public var maxInvalidFrames: Int = 100
        /// SETTINGS_INITIAL_WINDOW_SIZE: per-stream receive window, bytes.
        public var initialStreamWindowBytes: Int = 256 * 1024
        /// Connection-level receive window, bytes.
        public var connectionWindowBytes: Int = 1024 * 1024

        public init() {}
    }

    /// Address to bind, numeric IPv4 or IPv6.
    public var host: String = "127.0.0.1"
    /// TCP port; 0 picks an ephemeral port (read it back from `HTTPServer.boundPort`).
    public var port: Int = 8080
    /// Open connections allowed; further ones are accepted and closed at once (counted as rejected).
    public var maxConnections: Int = 1024
    /// Advertised SETTINGS_MAX_CONCURRENT_STREAMS; nghttp2 refuses streams above it.
    public var maxConcurrentStreams: Int = 128
    /// Bound on one request's header block, bytes (h2: SETTINGS_MAX_HEADER_LIST_SIZE, RFC 9113 accounting of
    /// name + value + 32 per field; h1: request line plus header lines). Above it: 431.
    public var maxHeaderListBytes: Int = 16 * 1024
    /// Bound on the request body as received on the wire, bytes. Above it: 413.
    public var maxRequestBodyBytes: Int = 4 * 1024 * 1024
    /// Shared by every connection (and by the application, which adds decode work to it): request bodies are held
    /// against it as they arrive; past it, a request gets 503 with `Retry-After`.
    public var memoryBudget = MemoryBudget(limitBytes: 256 * 1024 * 1024)
    /// A connection with no open request and no request traffic (h2: HEADERS or DATA; PING does not count) for this
    /// long is closed (h2: GOAWAY first).
    /// Also bounds how long queued output may make no progress (zero-window clients).
    public var idleTimeout: Duration = .seconds(60)
    /// A request must be received completely within this time after its first byte (slowloris defence);
    /// also bounds protocol detection and the TLS handshake.
    public var readTimeout: Duration = .seconds(10)
    /// Output queued per connection, bytes; above it the connection stops reading until the socket drains.
    public var maxOutputBufferBytes: Int = 4 * 1024 * 1024
    /// Responses with fewer body bytes than this are never gzip-compressed.
    public var gzipMinimumBytes: Int = 1024
    /// HTTP/1.1 pipelining depth: requests parsed ahead of their answers.
    public var maxPipelinedRequests: Int = 16
    /// TLS on the same port; `nil` serves cleartext only (a TLS ClientHello is then closed).
    public var tls: TLS? = nil
    public var http2 = HTTP2Limits()
    /// Event loops connections are spread over (`EventLoop`); 0: one per available core.
    public var eventLoops: Int = 0

    public init() {}

    var effectiveEventLoops: Int {
        eventLoops > 0 ? eventLoops : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}

extension Duration {
    /// Whole nanoseconds, saturating; the transport's clock is `DispatchTime.uptimeNanoseconds`.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (product, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        return product &+ UInt64(attoseconds / 1_000_000_000)
    }
}
