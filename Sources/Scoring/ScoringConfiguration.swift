import Foundation
import Ranking

/// `config/serve.json`, every key optional (defaults below); documented key by key in config/README.md.
public struct ScoringConfiguration: Codable, Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Model repository root: `<root>/<name>/<version>/model.fckpt`.
    public var modelRepository = "models"
    /// The model to serve; null serves the repository's only model.
    public var modelName: String?
    /// Seconds between repository polls for new versions; 0 disables polling (SIGHUP still reloads).
    public var reloadPollSeconds = 10.0
    /// Where served checkpoints are privately copied (unnamed files: nothing is left behind); nil: `$TMPDIR`, else
    /// /var/tmp. On the repository's file system the copy is a reflink where supported (btrfs, XFS).
    public var modelCopyDirectory: String?
    /// Replaces the checkpoint's score formula.
    public var score: ScoreFormula?

    /// Candidate rows per batch (Triton `max_batch_size`); also bounds candidates per request.
    public var maxBatchRows = 1024
    /// How long a partial batch may wait for more requests (TF Serving `batch_timeout_micros`). 0: a batch
    /// leaves as soon as a worker is free.
    public var batchTimeoutMicros = 0
    /// Rows waiting in the queue before new requests get 503 (TF Serving `max_enqueued_batches` × rows).
    public var maxQueuedRows = 65536
    /// Batch worker threads (TF Serving `num_batch_threads`); 0 = one per core.
    public var numBatchThreads = 0
    /// Threads that inflate, parse and encode request bodies, apart from connection I/O; 0 = one per core.
    public var numDecodeThreads = 0
    /// Event loops that run the connections (the transport's epoll sets); 0 = one per core.
    public var numEventLoops = 0
    public var maxCandidatesPerRequest = 1000
    /// Accept and ignore feature names the model does not read, instead of answering 400.
    public var ignoreUnknownFeatures = false

    public var maxConnections = 1024
    public var maxConcurrentStreams = 128
    public var maxHeaderListBytes = 16384
    public var maxRequestBodyBytes = 4 << 20
    /// Bound on a gzip body after inflating; nil follows the candidate limit (see `effectiveInflatedBodyLimit`).
    public var maxInflatedBodyBytes: Int?
    /// Bytes of request bodies, inflated bodies and decode work the daemon holds at once, over all connections.
    public var memoryBudgetBytes = 256 << 20
    public var idleTimeoutSeconds = 60.0
    public var readTimeoutSeconds = 10.0
    public var maxOutputBufferBytes = 4 << 20
    public var gzipMinimumBytes = 1024
    /// PEM files; with both set the port speaks TLS (ALPN h2 or http/1.1).
    public var tlsCertificate: String?
    public var tlsPrivateKey: String?
    /// With TLS configured, also accept cleartext h2c and HTTP/1.1 on the port (default: refuse them).
    public var tlsAllowCleartext = false

    /// SIGTERM: how long in-flight requests get before the process exits anyway.
    public var shutdownGraceSeconds = 25.0
    /// `text` or `json` (one JSON object per line).
    public var logFormat = "text"
    public var logLevel = "info"
    /// One JSON line per answered request: "stdout", "stderr" or a file path (appended to); nil: off.
    public var accessLog: String?

    public init() {}

    /// Reads a configuration file; an unknown (misspelt) key is an error that names it.
    public static func load(path: String) throws -> ScoringConfiguration {
        try StrictJSON.decode(ScoringConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    public var effectiveBatchThreads: Int {
        numBatchThreads > 0 ? numBatchThreads : ProcessInfo.processInfo.activeProcessorCount
    }

    public var effectiveDecodeThreads: Int {
        numDecodeThreads > 0 ? numDecodeThreads : ProcessInfo.processInfo.activeProcessorCount
    }

    /// A valid request's JSON needs far less than 4 KiB per candidate (the default model's take about 120 bytes),
    /// plus the user and context: a gzip body inflating beyond that is refused before it is parsed.
    public var effectiveInflatedBodyLimit: Int {
        maxInflatedBodyBytes ?? (maxCandidatesPerRequest * 4096 + 64 * 1024)
    }

    public var effectiveModelCopyDirectory: String {
        modelCopyDirectory ?? ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "/var/tmp"
    }

    /// Throws a message naming the first key out of range or inconsistent with another.
    public func validate() throws {
        func require(_ condition: Bool, _ message: String) throws {
            if !condition { throw ConfigurationError(description: message) }
        }
        func range<T: Comparable>(_ key: String, _ value: T, _ allowed: ClosedRange<T>) throws {
            try require(
                allowed.contains(value), "\(key) must be in \(allowed.lowerBound)...\(allowed.upperBound), not \(value)"
            )
        }
        let gibibyte = 1 << 30
        try range("port", port, 0...65535)
        try range("reload_poll_seconds", reloadPollSeconds, 0...86_400)
        try range("max_batch_rows", maxBatchRows, 1...1 << 20)
        try range("batch_timeout_micros", batchTimeoutMicros, 0...10_000_000)
        try range("max_queued_rows", maxQueuedRows, maxBatchRows...1 << 30)
        try range("num_batch_threads", numBatchThreads, 0...1024)
        try range("num_decode_threads", numDecodeThreads, 0...1024)
        try range("num_event_loops", numEventLoops, 0...1024)
        try range("max_candidates_per_request", maxCandidatesPerRequest, 1...maxBatchRows)
        try range("max_connections", maxConnections, 1...1 << 20)
        try range("max_concurrent_streams", maxConcurrentStreams, 1...65_536)
        try range("max_header_list_bytes", maxHeaderListBytes, 1024...1 << 20)
        try range("max_request_body_bytes", maxRequestBodyBytes, 1024...gibibyte)
        if let maxInflatedBodyBytes { try range("max_inflated_body_bytes", maxInflatedBodyBytes, 1024...gibibyte) }
        // A budget smaller than one allowed body would refuse every request of the allowed size.
        try range("memory_budget_bytes", memoryBudgetBytes, maxRequestBodyBytes...1 << 40)
        try range("idle_timeout_seconds", idleTimeoutSeconds, 0.01...86_400)
        try range("read_timeout_seconds", readTimeoutSeconds, 0.01...86_400)
        // Below one HTTP/2 frame and its headers, a connection could never queue an answer, so it would never read.
        try range("max_output_buffer_bytes", maxOutputBufferBytes, 64 * 1024...gibibyte)
        try range("gzip_minimum_bytes", gzipMinimumBytes, 0...gibibyte)
        try range("shutdown_grace_seconds", shutdownGraceSeconds, 0...3600)
        try require(
            (tlsCertificate == nil) == (tlsPrivateKey == nil),
            "set both tls_certificate and tls_private_key, or neither")
        try require(["text", "json"].contains(logFormat), "log_format must be text or json")
    }

    private enum CodingKeys: String, CodingKey {
        case host, port, score
        case modelRepository = "model_repository"
        case modelName = "model_name"
        case reloadPollSeconds = "reload_poll_seconds"
        case modelCopyDirectory = "model_copy_directory"
        case maxBatchRows = "max_batch_rows"
        case batchTimeoutMicros = "batch_timeout_micros"
        case maxQueuedRows = "max_queued_rows"
        case numBatchThreads = "num_batch_threads"
        case numDecodeThreads = "num_decode_threads"
        case numEventLoops = "num_event_loops"
        case maxCandidatesPerRequest = "max_candidates_per_request"
        case ignoreUnknownFeatures = "ignore_unknown_features"
        case maxConnections = "max_connections"
        case maxConcurrentStreams = "max_concurrent_streams"
        case maxHeaderListBytes = "max_header_list_bytes"
        case maxRequestBodyBytes = "max_request_body_bytes"
        case maxInflatedBodyBytes = "max_inflated_body_bytes"
        case memoryBudgetBytes = "memory_budget_bytes"
        case idleTimeoutSeconds = "idle_timeout_seconds"
        case readTimeoutSeconds = "read_timeout_seconds"
        case maxOutputBufferBytes = "max_output_buffer_bytes"
        case gzipMinimumBytes = "gzip_minimum_bytes"
        case tlsCertificate = "tls_certificate"
        case tlsPrivateKey = "tls_private_key"
        case tlsAllowCleartext = "tls_allow_cleartext"
        case shutdownGraceSeconds = "shutdown_grace_seconds"
        case logFormat = "log_format"
        case logLevel = "log_level"
        case accessLog = "access_log"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = ScoringConfiguration()
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try c.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        host = try value(.host, defaults.host)
        port = try value(.port, defaults.port)
        modelRepository = try value(.modelRepository, defaults.modelRepository)
        modelName = try c.decodeIfPresent(String.self, forKey: .modelName)
        reloadPollSeconds = try value(.reloadPollSeconds, defaults.reloadPollSeconds)
        modelCopyDirectory = try c.decodeIfPresent(String.self, forKey: .modelCopyDirectory)
        score = try c.decodeIfPresent(ScoreFormula.self, forKey: .score)
        maxBatchRows = try value(.maxBatchRows, defaults.maxBatchRows)
        batchTimeoutMicros = try value(.batchTimeoutMicros, defaults.batchTimeoutMicros)
        maxQueuedRows = try value(.maxQueuedRows, defaults.maxQueuedRows)
        numBatchThreads = try value(.numBatchThreads, defaults.numBatchThreads)
        numDecodeThreads = try value(.numDecodeThreads, defaults.numDecodeThreads)
        numEventLoops = try value(.numEventLoops, defaults.numEventLoops)
        maxCandidatesPerRequest = try value(.maxCandidatesPerRequest, defaults.maxCandidatesPerRequest)
        ignoreUnknownFeatures = try value(.ignoreUnknownFeatures, defaults.ignoreUnknownFeatures)
        maxConnections = try value(.maxConnections, defaults.maxConnections)
        maxConcurrentStreams = try value(.maxConcurrentStreams, defaults.maxConcurrentStreams)
        maxHeaderListBytes = try value(.maxHeaderListBytes, defaults.maxHeaderListBytes)
        maxRequestBodyBytes = try value(.maxRequestBodyBytes, defaults.maxRequestBodyBytes)
        maxInflatedBodyBytes = try c.decodeIfPresent(Int.self, forKey: .maxInflatedBodyBytes)
        memoryBudgetBytes = try value(.memoryBudgetBytes, defaults.memoryBudgetBytes)
        idleTimeoutSeconds = try value(.idleTimeoutSeconds, defaults.idleTimeoutSeconds)
        readTimeoutSeconds = try value(.readTimeoutSeconds, defaults.readTimeoutSeconds)
        maxOutputBufferBytes = try value(.maxOutputBufferBytes, defaults.maxOutputBufferBytes)
        gzipMinimumBytes = try value(.gzipMinimumBytes, defaults.gzipMinimumBytes)
        tlsCertificate = try c.decodeIfPresent(String.self, forKey: .tlsCertificate)
        tlsPrivateKey = try c.decodeIfPresent(String.self, forKey: .tlsPrivateKey)
        tlsAllowCleartext = try value(.tlsAllowCleartext, defaults.tlsAllowCleartext)
        shutdownGraceSeconds = try value(.shutdownGraceSeconds, defaults.shutdownGraceSeconds)
        logFormat = try value(.logFormat, defaults.logFormat)
        logLevel = try value(.logLevel, defaults.logLevel)
        accessLog = try c.decodeIfPresent(String.self, forKey: .accessLog)
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
}
