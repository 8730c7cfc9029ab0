import Foundation
import HTTP2
import Logging
import Prometheus
import Scoring

/// Wiring only: logging, metrics, model store, scoring service, HTTP server, signals. Runs until SIGTERM or
/// SIGINT drains it: readiness false → stop accepting → GOAWAY → in-flight requests answered → exit 0.
struct Daemon {
    let configuration: DaemonConfiguration

    func run() throws -> Never {
        MemoryPolicy.apply(cores: configuration.effectiveBatchThreads)
        let logger = makeLogger()
        let metrics = ScoringMetrics(registry: PrometheusCollectorRegistry())
        let store = ModelStore(
            repository: ModelRepository(root: configuration.modelRepository, modelName: configuration.modelName),
            copyDirectory: configuration.effectiveModelCopyDirectory, scoreOverride: configuration.score,
            warmUpRows: min(configuration.maxBatchRows, 256), logger: logger, metrics: metrics)
        if store.reloadNow(reason: "startup") == nil {
            logger.error("no loadable model yet: serving /healthz, /readyz answers 503 until one appears")
        }
        let statistics = TransportStatistics()
        let memoryBudget = MemoryBudget(limitBytes: configuration.memoryBudgetBytes)
        let accessLog = try configuration.accessLog.map { destination throws(ConfigurationError) in
            try AccessLog(destination: destination)
        }
        let service = ScoringService(
            limits: configuration.scoringLimits, store: store, metrics: metrics, logger: logger,
            memoryBudget: memoryBudget,
            serverVersion: FunnelServe.version, accessLog: accessLog, transportStatistics: { statistics.read() })
        let server = HTTPServer(
            configuration: httpConfiguration(memoryBudget: memoryBudget), handler: service, logger: logger)
        statistics.server = server
        service.start()
        try server.start()
        if configuration.reloadPollSeconds > 0 { store.startPolling(every: .seconds(configuration.reloadPollSeconds)) }

        let scheme = configuration.tlsCertificate == nil ? "http" : "https"
        print("funnel-serve listening on \(scheme)://\(configuration.host):\(server.boundPort)")
        fflush(nil)
        logger.notice("listening", metadata: ["url": "\(scheme)://\(configuration.host):\(server.boundPort)"])

        let systemd = SystemdNotifier(socketPath: ProcessInfo.processInfo.environment["NOTIFY_SOCKET"])
        let signals = SignalHandlers()
        signals.on(SIGHUP) {
            store.reload(reason: "SIGHUP")
            do {
                try server.reloadTLSCertificate()
            } catch {
                logger.error("TLS certificate reload failed; the previous certificate keeps serving: \(error)")
            }
        }
        let grace = Duration.seconds(configuration.shutdownGraceSeconds)
        for signal in [SIGTERM, SIGINT] {
            signals.on(signal) {
                guard signals.beginShutdownOnce() else { return }
                systemd.notify("STOPPING=1\nSTATUS=draining")
                logger.notice(
                    "draining", metadata: ["signal": "\(signal)", "grace_seconds": "\(grace.components.seconds)"])
                service.beginDraining()
                store.stopPolling()
                server.shutdown(gracePeriod: grace) {
                    service.stop()
                    logger.notice("stopped")
                    exit(0)
                }
            }
        }
        signal(SIGPIPE, SIG_IGN)  // a peer closing mid-write must not kill the process
        // Type=notify: systemd counts the service as started once the port is open and the signals are handled.
        let model = store.current.map { "\($0.name) v\($0.version)" } ?? "no model yet"
        systemd.notify("READY=1\nSTATUS=listening on port \(server.boundPort), serving \(model)")
        dispatchMain()
    }

    private func httpConfiguration(memoryBudget: MemoryBudget) -> HTTPServerConfiguration {
        var http = HTTPServerConfiguration()
        http.memoryBudget = memoryBudget
        http.host = configuration.host
        http.port = configuration.port
        http.maxConnections = configuration.maxConnections
        http.eventLoops = configuration.numEventLoops
        http.maxConcurrentStreams = configuration.maxConcurrentStreams
        http.maxHeaderListBytes = configuration.maxHeaderListBytes
        http.maxRequestBodyBytes = configuration.maxRequestBodyBytes
        http.idleTimeout = .seconds(configuration.idleTimeoutSeconds)
        http.readTimeout = .seconds(configuration.readTimeoutSeconds)
        http.maxOutputBufferBytes = configuration.maxOutputBufferBytes
        http.gzipMinimumBytes = configuration.gzipMinimumBytes
        if let certificate = configuration.tlsCertificate, let key = configuration.tlsPrivateKey {
            http.tls = .init(
                certificatePath: certificate, privateKeyPath: key, allowsCleartext: configuration.tlsAllowCleartext)
        }
        return http
    }

    private func makeLogger() -> Logger {
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        let json = configuration.logFormat == "json"
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                json ? JSONLineLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "funnel-serve")
    }
}

/// The transport's counts, read by /metrics (the server is created after the service that reports them).
final class TransportStatistics: @unchecked Sendable {  // `server` is set once, before the first request
    var server: HTTPServer?

    func read() -> (connections: Int, streams: Int) {
        guard let server else { return (0, 0) }
        return (server.openConnections, server.openStreams)
    }
}

/// Signals delivered on a Dispatch queue instead of an async-signal handler.
final class SignalHandlers: @unchecked Sendable {  // state confined to `queue`
    private let queue = DispatchQueue(label: "funnel.signals")
    private var sources: [any DispatchSourceSignal] = []
    private var shuttingDown = false

    func on(_ number: Int32, _ action: @escaping @Sendable () -> Void) {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
        source.setEventHandler(handler: action)
        source.resume()
        queue.sync { sources.append(source) }
    }

    /// True the first time; a second SIGTERM while draining changes nothing.
    func beginShutdownOnce() -> Bool {
        dispatchPrecondition(condition: .onQueue(queue))
        defer { shuttingDown = true }
        return !shuttingDown
    }
}
