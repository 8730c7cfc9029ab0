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
    /// Open Inference Protocol (KServe V2), `InferenceProtocol`: server metadata, liveness, readiness.
    case inferenceServer
    case inferenceLive
    case inferenceReady
    /// `/v2/models/{name}[/versions/{version}]`, then nothing (metadata), `/ready` or `/infer` (`ModelAddress`).
    case modelMetadata
    case modelReady
    case modelInfer
    /// gRPC (`GRPC`): the Open Inference Protocol's ModelInfer, its service's other methods, and gRPC health.
    case grpcModelInfer
    case grpcInferenceService
    case grpcHealth
    /// Any other path: 404, labelled "other" (bounded metric cardinality).
    case other

    init(path: String) {
        if let route = Self.allCases.first(where: { $0.fixedPath == path }) {
            self = route
        } else if path.hasPrefix(Self.inferenceService) {
            self = .grpcInferenceService
        } else if path.hasPrefix(Self.healthService) {
            self = .grpcHealth
        } else if let address = ModelAddress(path: path) {
            switch address.action {
            case .metadata: self = .modelMetadata
            case .ready: self = .modelReady
            case .infer: self = .modelInfer
            }
        } else {
            self = .other
        }
    }

    /// The path of a route without parameters.
    var fixedPath: String? {
        switch self {
        case .score: "/v1/score"
        case .models: "/v1/models"
        case .healthz: "/healthz"
        case .readyz: "/readyz"
        case .metrics: "/metrics"
        case .inferenceServer: "/v2"
        case .inferenceLive: "/v2/health/live"
        case .inferenceReady: "/v2/health/ready"
        case .grpcModelInfer: Self.inferenceService + "ModelInfer"
        case .modelMetadata, .modelReady, .modelInfer, .grpcInferenceService, .grpcHealth, .other: nil
        }
    }

    private static let inferenceService = "/inference.GRPCInferenceService/"
    private static let healthService = "/grpc.health.v1.Health/"

    /// Routes whose requests are scored: decoded off the connection's thread, batched, encoded.
    var isScoring: Bool { self == .score || self == .modelInfer || self == .grpcModelInfer }

    var isGRPC: Bool { self == .grpcModelInfer || self == .grpcInferenceService || self == .grpcHealth }

    /// The methods the route answers.
    var methods: [String] { isScoring || isGRPC ? Self.writeMethods : Self.readMethods }
    private static let writeMethods = ["POST"]
    private static let readMethods = ["GET", "HEAD"]

    /// The methods as an `Allow` header lists them.
    var allowedMethods: String { methods.joined(separator: ", ") }

    func allows(_ method: String) -> Bool { methods.contains(method) }

    /// The metric label: the path, with the parameters' names in place of their values, or "other".
    var label: String {
        switch self {
        case .modelMetadata: "/v2/models/{name}"
        case .modelReady: "/v2/models/{name}/ready"
        case .modelInfer: "/v2/models/{name}/infer"
        case .grpcInferenceService: Self.inferenceService + "{method}"
        case .grpcHealth: Self.healthService + "{method}"
        default: fixedPath ?? "other"
        }
    }
}

/// A model's address in an Open Inference Protocol path: `/v2/models/{name}[/versions/{version}]`, followed by
/// nothing (metadata), `/ready` or `/infer`.
struct ModelAddress: Equatable {
    enum Action {
        case metadata
        case ready
        case infer
    }

    let name: String
    let version: String?
    let action: Action

    init(name: String, version: String?, action: Action) {
        self.name = name
        self.version = version
        self.action = action
    }

    init?(path: String) {
        let prefix = "/v2/models/"
        guard path.hasPrefix(prefix) else { return nil }
        var parts = path.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard let name = parts.first, !name.isEmpty else { return nil }
        parts.removeFirst()
        var version: String?
        if parts.count >= 2 && parts[0] == "versions" {
            guard !parts[1].isEmpty else { return nil }
            version = String(parts[1])
            parts.removeFirst(2)
        }
        switch parts {
        case []: action = .metadata
        case ["ready"]: action = .ready
        case ["infer"]: action = .infer
        default: return nil
        }
        self.name = String(name)
        self.version = version
    }
}
