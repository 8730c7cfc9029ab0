import Foundation
import Ranking
import Scoring

/// `config/serve.json`, every key optional (defaults below); documented key by key in config/README.md.
struct DaemonConfiguration: EveryKeyOptional, Sendable, Equatable {
    var host = "127.0.0.1"
    var port = 8080
    /// Model repository root: `<root>/<name>/<version>/model.fckpt`.
    var modelRepository = "models"
    /// The model to serve; null serves the repository's only model.
    var modelName: String?
    /// Seconds between repository polls for new versions; 0 disables polling (SIGHUP still reloads).
    var reloadPollSeconds = 10.0
    /// Where served checkpoints are privately copied (unnamed files: nothing is left behind); nil: `$TMPDIR`, else
    /// /var/tmp. On the repository's file system the copy is a reflink where supported (btrfs, XFS).
    var modelCopyDirectory: String?
    /// Replaces the checkpoint's score formula.
    var score: ScoreFormula?

    /// Candidate rows per batch (Triton `max_batch_size`); also bounds candidates per request.
    var maxBatchRows = 1024
    /// How long a partial batch may wait for more requests (TF Serving `batch_timeout_micros`). 0: a batch
    /// leaves as soon as a worker is free.
    var batchTimeoutMicros = 0
    /// Rows waiting in the queue before new requests get 503 (TF Serving `max_enqueued_batches` × rows).
    var maxQueuedRows = 65536
    /// Batch worker threads (TF Serving `num_batch_threads`); 0 = one per core.
    var numBatchThreads = 0
    /// Threads that inflate, parse and encode request bodies, apart from connection I/O; 0 = one per core.
    var numDecodeThreads = 0
    /// Event loops that run the connections (the transport's epoll sets); 0 = one per core.
    var numEventLoops = 0
    var maxCandidatesPerRequest = 1000
    /// Accept and ignore feature names the model does not read, instead of answering 400.
    var ignoreUnknownFeatures = false

    var maxConnections = 1024
    var maxConcurrentStreams = 128
    var maxHeaderListBytes = 16384
    var maxRequestBodyBytes = 4 << 20
    /// Bound on a gzip body after inflating; nil follows the candidate limit (see `effectiveInflatedBodyLimit`).
    var maxInflatedBodyBytes: Int?
    /// Bytes of request bodies, inflated bodies and decode work the daemon holds at once, over all connections.
    var memoryBudgetBytes = 256 << 20
    var idleTimeoutSeconds = 60.0
    var readTimeoutSeconds = 10.0
    var maxOutputBufferBytes = 4 << 20
    var gzipMinimumBytes = 1024
    /// PEM files; with both set the port speaks TLS (ALPN h2 or http/1.1).
    var tlsCertificate: String?
    var tlsPrivateKey: String?
    /// With TLS configured, also accept cleartext h2c and HTTP/1.1 on the port (default: refuse them).
    var tlsAllowCleartext = false

    /// SIGTERM: how long in-flight requests get before the process exits anyway.
    var shutdownGraceSeconds = 25.0
    /// `text` or `json` (one JSON object per line).
    var logFormat = "text"
    var logLevel = "info"
    /// One JSON line per answered request: "stdout", "stderr" or a file path (appended to); nil: off.
    var accessLog: String?

    init() {}

    /// Reads a configuration file; an unknown (misspelt) key is an error that names it.
    static func load(path: String) throws -> DaemonConfiguration {
        try StrictJSON.decode(DaemonConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    var effectiveBatchThreads: Int {
        numBatchThreads > 0 ? numBatchThreads : ProcessInfo.processInfo.activeProcessorCount
    }

    var effectiveDecodeThreads: Int {
        numDecodeThreads > 0 ? numDecodeThreads : ProcessInfo.processInfo.activeProcessorCount
    }

    /// A valid request's JSON needs far less than 4 KiB per candidate (the default model's take about 120 bytes),
    /// plus the user and context: a gzip body inflating beyond that is refused before it is parsed.
    var effectiveInflatedBodyLimit: Int {
        maxInflatedBodyBytes ?? (maxCandidatesPerRequest * 4096 + 64 * 1024)
    }

    var effectiveModelCopyDirectory: String {
        modelCopyDirectory ?? ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "/var/tmp"
    }

    /// The scoring service's share of the settings.
    var scoringLimits: ScoringService.Limits {
        ScoringService.Limits(
            decodeThreads: effectiveDecodeThreads, inflatedBodyLimit: effectiveInflatedBodyLimit,
            maxCandidatesPerRequest: maxCandidatesPerRequest, ignoreUnknownFeatures: ignoreUnknownFeatures,
            maxBatchRows: maxBatchRows, maxQueueDelay: .microseconds(batchTimeoutMicros), maxQueuedRows: maxQueuedRows,
            batchThreads: effectiveBatchThreads)
    }

    /// Throws a message naming the first key out of range or inconsistent with another.
    func validate() throws {
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
}
