import ArgumentParser
import Foundation
import Scoring

@main
struct FunnelServe: ParsableCommand {
    /// The release, as `--version` and the Open Inference Protocol's `GET /v2` report it.
    static let version = "0.9.0"

    static let configuration = CommandConfiguration(
        commandName: "funnel-serve",
        abstract: "Funnel's online scoring daemon: pCTR, pCVR, pCTCVR and a ranking score per feed candidate.",
        discussion: """
            Serves POST /v1/score, GET /v1/models, /healthz, /readyz and /metrics, and the KServe V2 / Open \
            Inference Protocol's /v2 routes, over HTTP/2 (h2c prior knowledge, h2 over TLS with ALPN, or HTTP/1.1 \
            Upgrade) and HTTP/1.1 on one port. The model is the \
            highest version in <models>/<name>/<version>/model.fckpt; SIGHUP (and polling) reload it, SIGTERM \
            drains and exits.

            Settings come from the configuration file (config/serve.json documents every key), then FUNNEL_* \
            environment variables (FUNNEL_HOST, FUNNEL_PORT, FUNNEL_MODELS, FUNNEL_MODEL_NAME, FUNNEL_LOG_LEVEL, \
            FUNNEL_LOG_FORMAT), then these flags.
            """,
        version: version)

    @Option(name: .long, help: "Configuration file (JSON, see config/README.md).")
    var config: String?

    @Option(name: .long, help: "Address to listen on.")
    var host: String?

    @Option(name: .long, help: "Port to listen on (0: any free port; the chosen one is printed).")
    var port: Int?

    @Option(name: .long, help: "Model repository root.")
    var models: String?

    @Option(name: .long, help: "Model to serve when the repository holds several.")
    var modelName: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Option(name: .long, help: "Log format: text or json (one object per line).")
    var logFormat: String?

    mutating func run() throws {
        var settings = DaemonConfiguration()
        if let config {
            do {
                settings = try DaemonConfiguration.load(path: config)
            } catch {
                throw ValidationError("cannot use configuration \(config): \(error)")
            }
        }
        let environment = ProcessInfo.processInfo.environment
        settings.host = host ?? environment["FUNNEL_HOST"] ?? settings.host
        if let port = try port ?? environment["FUNNEL_PORT"].map(parsePort) { settings.port = port }
        settings.modelRepository = models ?? environment["FUNNEL_MODELS"] ?? settings.modelRepository
        settings.modelName = modelName ?? environment["FUNNEL_MODEL_NAME"] ?? settings.modelName
        settings.logLevel = logLevel ?? environment["FUNNEL_LOG_LEVEL"] ?? settings.logLevel
        settings.logFormat = logFormat ?? environment["FUNNEL_LOG_FORMAT"] ?? settings.logFormat
        do {
            try settings.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        try Daemon(configuration: settings).run()
    }

    private func parsePort(_ text: String) throws -> Int {
        guard let port = Int(text) else { throw ValidationError("FUNNEL_PORT must be a number, not \(text)") }
        return port
    }
}
