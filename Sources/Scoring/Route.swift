/// The daemon's routes, in one table: dispatch (`ScoringService.handle`), the `Allow` header of a 405, the static
/// answers the transport gives itself, and the metric label all come from here.
enum Route: Int, CaseIterable, Sendable {
    /// POST: decode → queue → batch → kernel → encode.
    case score
    /// The served model and the features a client must send.
    case models
    /// Liveness: the process answers (never depends on the model); answered by the transport (`StaticRoute`).
    case healthz
    /// Readiness: a model is loaded and warmed up and the server is not draining.
    case readyz
    /// Prometheus text exposition.
    case metrics
    /// Any other path: 404, labelled "other" (bounded metric cardinality).
    case other

    init(path: String) {
        self = Self.allCases.first { $0.path == path } ?? .other
    }

    var path: String? {
        switch self {
        case .score: "/v1/score"
        case .models: "/v1/models"
        case .healthz: "/healthz"
        case .readyz: "/readyz"
        case .metrics: "/metrics"
        case .other: nil
        }
    }

    /// The methods the route answers.
    var methods: [String] { self == .score ? Self.writeMethods : Self.readMethods }
    private static let writeMethods = ["POST"]
    private static let readMethods = ["GET", "HEAD"]

    /// The methods as an `Allow` header lists them.
    var allowedMethods: String { methods.joined(separator: ", ") }

    func allows(_ method: String) -> Bool { methods.contains(method) }

    /// The metric label: the path, or "other".
    var label: String { path ?? "other" }
}
