import Foundation
import HTTP2
import InferenceMessages
import Logging
import Prometheus
import Ranking
import Synchronization

/// Request in → response out for the daemon's routes (`Route`, the table of paths, methods and labels).
public final class ScoringService: HTTPHandler {
    public static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    let store: ModelStore
    private let batcher: MicroBatcher
    private let decoder: ScoreRequestDecoder
    private let inferDecoder: InferRequestDecoder
    /// What `GET /v2` reports as the server's version.
    let serverVersion: String
    /// One JSON line per answer (`access_log`), or nil.
    private let accessLog: AccessLog?
    private let metrics: ScoringMetrics
    private let logger: Logger
    private let memoryBudget: MemoryBudget
    let draining = Atomic<Bool>(false)
    private let decoding: DecodePool
    /// Bound on a gzip body after inflating; follows the candidate limit (the daemon's `max_inflated_body_bytes`).
    private let inflatedBodyLimit: Int
    /// Reads the transport's open connections and streams at scrape time.
    private let transportStatistics: @Sendable () -> (connections: Int, streams: Int)

    /// What the daemon's configuration sets for the service: decoding and request limits, and batching (its keys
    /// are documented in config/README.md).
    public struct Limits: Sendable {
        public var decodeThreads: Int
        /// Bound on a gzip body after inflating.
        public var inflatedBodyLimit: Int
        public var maxCandidatesPerRequest: Int
        /// Accept and ignore feature names the model does not read, instead of answering 400.
        public var ignoreUnknownFeatures: Bool
        public var maxBatchRows: Int
        public var maxQueueDelay: Duration
        public var maxQueuedRows: Int
        public var batchThreads: Int

        public init(
            decodeThreads: Int, inflatedBodyLimit: Int, maxCandidatesPerRequest: Int, ignoreUnknownFeatures: Bool,
            maxBatchRows: Int, maxQueueDelay: Duration, maxQueuedRows: Int, batchThreads: Int
        ) {
            self.decodeThreads = decodeThreads
            self.inflatedBodyLimit = inflatedBodyLimit
            self.maxCandidatesPerRequest = maxCandidatesPerRequest
            self.ignoreUnknownFeatures = ignoreUnknownFeatures
            self.maxBatchRows = maxBatchRows
            self.maxQueueDelay = maxQueueDelay
            self.maxQueuedRows = maxQueuedRows
            self.batchThreads = batchThreads
        }
    }

    public init(
        limits: Limits, store: ModelStore, metrics: ScoringMetrics, logger: Logger,
        memoryBudget: MemoryBudget, serverVersion: String, accessLog: AccessLog?,
        transportStatistics: @escaping @Sendable () -> (connections: Int, streams: Int)
    ) {
        self.store = store
        self.memoryBudget = memoryBudget
        self.metrics = metrics
        self.logger = logger
        self.transportStatistics = transportStatistics
        decoding = DecodePool(threads: limits.decodeThreads)
        inflatedBodyLimit = limits.inflatedBodyLimit
        decoder = ScoreRequestDecoder(
            maxCandidates: limits.maxCandidatesPerRequest, ignoreUnknownFeatures: limits.ignoreUnknownFeatures)
        inferDecoder = InferRequestDecoder(
            maxCandidates: limits.maxCandidatesPerRequest, ignoreUnknownFeatures: limits.ignoreUnknownFeatures)
        self.serverVersion = serverVersion
        self.accessLog = accessLog
        batcher = MicroBatcher(
            configuration: MicroBatcher.Configuration(
                maxBatchRows: limits.maxBatchRows, maxQueueDelay: limits.maxQueueDelay,
                maxQueuedRows: limits.maxQueuedRows, workers: limits.batchThreads),
            metrics: metrics)
    }

    /// Starts the decode and batch workers.
    public func start() {
        decoding.start()
        batcher.start()
    }

    /// Readiness turns false; queued requests are still answered.
    public func beginDraining() { draining.store(true, ordering: .relaxed) }

    /// After the transport finished: stops the workers once their queues are empty.
    public func stop() {
        decoding.stop()
        batcher.stop()
    }

    public var isReady: Bool { store.current != nil && !draining.load(ordering: .relaxed) }

    public func handle(
        _ request: HTTPRequest, cancellation: RequestCancellation, respond: @escaping @Sendable (HTTPResponse) -> Void
    ) {
        let route = Route(path: request.path)
        let format = ScoringFormat(route: route, path: request.path)
        let answer = Answering(request: request, route: route, metrics: metrics, accessLog: accessLog, respond: respond)
        guard route == .other || route.allows(request.method) else {
            return answer(
                format.render(ScoringError.methodNotAllowed(route.allowedMethods)).adding(
                    ("allow", route.allowedMethods)))
        }
        if route.isScoring {
            // Every queued request holds at least its bookkeeping against the budget, so the budget bounds the decode
            // queue even for requests without a body.
            let memory = request.memory ?? MemoryReservation(budget: memoryBudget)
            guard memory.grow(by: Self.queuedRequestBytes) else {
                metrics.rejections("memory").increment()
                return answer(format.render(.memoryBudgetExhausted))
            }
            var admitted = request
            admitted.memory = memory
            decoding.submit { [admitted] in
                self.score(admitted, format: format, cancellation: cancellation, answer: answer)
            }
            return
        }
        // Everything else is answered on the caller's thread.
        answer(immediateResponse(to: route, format: format, request: request))
    }

    /// The transport answers GET and HEAD /healthz itself, from the same prebuilt response; a request reaches
    /// `handle` for that path only with another method or with a query.
    public var staticRoutes: [StaticRoute] { [liveness] }

    /// `format` carries the model address the path names (parsed once, by `ScoringFormat`).
    private func immediateResponse(to route: Route, format: ScoringFormat, request: HTTPRequest) -> HTTPResponse {
        switch route {
        case .healthz: return liveness.response
        case .readyz: return readiness()
        case .metrics:
            let transport = transportStatistics()
            metrics.transport(openConnections: transport.connections, openStreams: transport.streams)
            metrics.memoryBudget(used: memoryBudget.usedBytes, limit: memoryBudget.limitBytes)
            metrics.publishRequestCounts(
                staticAnswers: [(.healthz, liveness.response.status, liveness.servedCount)])
            return HTTPResponse(
                status: 200, headers: [("content-type", Self.metricsContentType)], body: metrics.registry.emitToBuffer()
            )
        case .models: return models()
        case .inferenceServer: return InferenceProtocol.serverMetadata(version: serverVersion)
        case .inferenceLive: return InferenceProtocol.health("live", true, reason: "")
        case .inferenceReady:
            let reason = draining.load(ordering: .relaxed) ? "the server is shutting down" : "no model is loaded yet"
            return InferenceProtocol.health("ready", isReady, reason: reason)
        case .modelMetadata, .modelReady:
            guard case .inferenceProtocol(let address?) = format else { return InferenceProtocol.error(.notFound) }
            let model: ServableModel
            do { model = try servedModel(at: address) } catch {
                return InferenceProtocol.error(error)
            }
            if route == .modelMetadata { return InferenceProtocol.modelMetadata(model) }
            return InferenceProtocol.health(
                "ready", !draining.load(ordering: .relaxed), reason: "the server is shutting down")
        case .grpcInferenceService, .grpcHealth: return answerGRPC(request, route: route)
        case .score, .modelInfer, .grpcModelInfer, .other:
            return ScoringError.notFound.response  // scoring routes are handled before
        }
    }

    /// The loaded model, if it is the one `address` names (a version, when given, must be the served one).
    func servedModel(at address: ModelAddress) throws(ScoringError) -> ServableModel {
        guard let model = store.current else { throw .notReady }
        guard address.name == model.name else {
            throw ScoringError(
                status: 404, code: "model_not_found",
                message: "no model named '\(address.name)'; this server serves '\(model.name)'")
        }
        if let version = address.version, version != String(model.version) {
            throw ScoringError(
                status: 404, code: "model_not_found",
                message: "version \(version) of model '\(model.name)' is not loaded; version \(model.version) is")
        }
        return model
    }

    /// On a decode thread: inflate, parse and encode within the memory budget, then queue for a batch. The
    /// request's memory reservation is held until it is answered.
    private func score(
        _ request: HTTPRequest, format: ScoringFormat, cancellation: RequestCancellation, answer: Answering
    ) {
        let arrival = answer.start
        // Reset while it waited for a decode thread: nobody reads the answer, so do no work for it.
        guard !cancellation.isCancelled else { return metrics.rejections("cancelled").increment() }
        let contentType = request.header("content-type")
        if case .grpc = format {
            guard GRPC.isGRPC(contentType) else {
                return answer(ScoringError.unsupportedMediaType(contentType ?? "none").response)
            }
        } else if let contentType, !Self.isJSON(contentType) {
            return answer(format.render(.unsupportedMediaType(contentType)))
        }
        let model: ServableModel
        do throws(ScoringError) {
            guard let current = store.current else { throw .notReady }
            if case .inferenceProtocol(let address?) = format {
                model = try servedModel(at: address)
            } else {
                model = current
            }
        } catch {
            return answer(format.render(error))
        }
        let memory = request.memory!  // set by `handle`, held until the answer
        let answer: @Sendable (HTTPResponse) -> Void = { response in
            withExtendedLifetime(memory) { answer(response) }
        }
        // Inflating may take up to its limit, and the parse tree a few times the body: hold both before starting.
        let held = memory.bytes
        guard memory.grow(by: request.isBodyEncoded ? inflatedBodyLimit : 0) else {
            metrics.rejections("memory").increment()
            return answer(format.render(.memoryBudgetExhausted))
        }
        let body: [UInt8]
        switch request.decodedBody(limit: inflatedBodyLimit) {
        case .success(let decoded): body = decoded
        case .failure(let error):
            metrics.rejections(error.code).increment()
            return answer(format.render(ScoringError(status: error.status, code: error.code, message: error.message)))
        }
        memory.shrink(to: held)
        guard memory.grow(by: body.count * Self.decodeBytesPerBodyByte) else {
            metrics.rejections("memory").increment()
            return answer(format.render(.memoryBudgetExhausted))
        }
        let decoded: ScoreRequest
        let render: @Sendable (ScoreResponse) -> HTTPResponse
        do {
            switch format {
            case .v1:
                decoded = try decoder.decode(body, model: model)
                render = Self.renderV1
            case .inferenceProtocol:
                let infer = try inferDecoder.decode(body, model: model)
                decoded = infer.score
                render = { InferenceProtocol.inferResponse($0, request: infer) }
            case .grpc:
                let message = try GRPC.decode(Inference_ModelInferRequest.self, from: body)
                let named = ModelAddress(
                    name: message.modelName, version: message.modelVersion.isEmpty ? nil : message.modelVersion,
                    action: .infer)
                let infer = try inferDecoder.decode(
                    message, model: try servedModel(at: named),
                    deadlineMilliseconds: GRPC.timeoutMilliseconds(request.header("grpc-timeout")))
                decoded = infer.score
                render = { GRPC.response(InferenceProtocol.grpcInferResponse($0, request: infer)) }
            }
        } catch {
            metrics.rejections(error.code).increment()
            return answer(format.render(error))
        }
        // What waits for the batch is the encoded request, smaller than its body: keep the body's share.
        memory.shrink(to: held + (request.isBodyEncoded ? body.count : 0))
        guard !cancellation.isCancelled else { return metrics.rejections("cancelled").increment() }
        metrics.candidatesPerRequest.record(Double(decoded.candidateCount))
        let modelMetrics = metrics.model(name: model.name, version: model.version)
        let job = ScoringJob(
            request: decoded, cancellation: cancellation, arrival: arrival,
            deadline: decoded.deadlineMilliseconds.map { arrival + .milliseconds($0) },
            respond: { result in
                modelMetrics.requestDuration.record(ContinuousClock.now - arrival)
                switch result {
                case .success(let response): answer(render(response))
                case .failure(let error): answer(format.render(error))
                }
            })
        if !batcher.submit(job) {
            metrics.rejections("queue_full").increment()
            answer(format.render(.queueFull))
        }
    }

    @Sendable private static func renderV1(_ response: ScoreResponse) -> HTTPResponse {
        JSONResponse.make(status: 200, body: response.encoded())
    }

    private func readiness() -> HTTPResponse {
        if draining.load(ordering: .relaxed) { return ScoringError.draining.response }
        guard let model = store.current else { return ScoringError.notReady.response }
        var writer = JSONWriter()
        writer.raw("{\"status\":\"ready\",\"model\":{\"name\":")
        writer.string(model.name)
        writer.raw(",\"version\":")
        writer.number(model.version)
        writer.raw("}}")
        return JSONResponse.make(status: 200, body: writer.bytes)
    }

    private func models() -> HTTPResponse {
        guard let model = store.current else {
            return JSONResponse.make(status: 200, body: Array(#"{"models":[]}"#.utf8))
        }
        struct Listing: Encodable {
            struct Model: Encodable {
                let name: String
                let version: Int
                let score: ScoreFormula
                let features: [ListedField]
            }
            let models: [Model]
        }
        let features = model.encoder.spec.fields.filter { $0.group != .privileged }.map(ListedField.init)
        let listing = Listing(models: [
            .init(name: model.name, version: model.version, score: model.score, features: features)
        ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return JSONResponse.make(status: 200, body: Array((try? encoder.encode(listing)) ?? Data()))
    }

    /// Budget held by a request from its arrival to its answer besides its body: header fields, closures, the job.
    private static let queuedRequestBytes = 1024

    /// Budget held per body byte while a body is parsed and encoded: the parse tree (objects, strings, numbers as
    /// Swift values) is several times the text, plus the encoded request.
    private static let decodeBytesPerBodyByte = 8

    private static func isJSON(_ contentType: String) -> Bool {
        let type = contentType.split(separator: ";", maxSplits: 1)[0].trimmingCharacters(in: .whitespaces).lowercased()
        return type == "application/json" || type.hasSuffix("+json")
    }

    /// Built once: answering a liveness probe allocates nothing.
    private let liveness = StaticRoute(
        path: Route.healthz.fixedPath!, response: JSONResponse.make(status: 200, body: Array(#"{"status":"ok"}"#.utf8)))
}

/// What every answer goes through, once: the `x-request-id` header, the in-flight gauge, the request metrics by
/// route and status, body sizes, and the access log line. A request dropped unanswered (its client reset it and
/// the work was skipped) is accounted when the last reference goes, as nginx's 499 "client closed request".
final class Answering: Sendable {
    let start = ContinuousClock.now
    let route: Route
    private let identity: RequestIdentity
    private let method: String
    private let path: String
    private let version: HTTPRequest.Version
    private let requestBytes: Int
    private let metrics: ScoringMetrics
    private let accessLog: AccessLog?
    private let respond: @Sendable (HTTPResponse) -> Void
    private let isAnswered = Atomic<Bool>(false)

    init(
        request: HTTPRequest, route: Route, metrics: ScoringMetrics, accessLog: AccessLog?,
        respond: @escaping @Sendable (HTTPResponse) -> Void
    ) {
        identity = RequestIdentity(request)
        method = request.method
        path = request.path
        version = request.version
        requestBytes = request.body.count
        self.route = route
        self.metrics = metrics
        self.accessLog = accessLog
        self.respond = respond
        metrics.requestsInFlight.increment()
    }

    func callAsFunction(_ response: HTTPResponse) {
        guard !isAnswered.exchange(true, ordering: .relaxed) else { return }
        var response = response
        response.headers.append(("x-request-id", identity.requestID))
        account(response)
        respond(response)
    }

    deinit {
        if !isAnswered.load(ordering: .relaxed) { account(HTTPResponse(status: 499)) }
    }

    private func account(_ response: HTTPResponse) {
        let duration = ContinuousClock.now - start
        metrics.requestsInFlight.decrement()
        metrics.record(route: route, status: response.status, duration: duration)
        metrics.recordSizes(route: route, request: requestBytes, response: response.body.count)
        accessLog?.record(
            AccessLog.Entry(
                identity: identity, method: method, path: path, version: version, route: route, response: response,
                requestBytes: requestBytes, seconds: duration / .seconds(1)))
    }
}

/// How a route reads its request and renders its answers: `/v1` JSON, or the Open Inference Protocol's (for the
/// `/v2` routes; `{"error": "…"}` bodies).
enum ScoringFormat: Sendable {
    case v1
    /// The model the path names (nil on server-wide routes).
    case inferenceProtocol(ModelAddress?)
    /// gRPC: the model is named in the message.
    case grpc

    init(route: Route, path: String) {
        switch route {
        case .modelInfer, .modelMetadata, .modelReady:
            self = ModelAddress(path: path).map { .inferenceProtocol($0) } ?? .v1
        case .inferenceServer, .inferenceLive, .inferenceReady:
            self = .inferenceProtocol(nil)
        case .grpcModelInfer, .grpcInferenceService, .grpcHealth:
            self = .grpc
        default:
            self = .v1
        }
    }

    func render(_ error: ScoringError) -> HTTPResponse {
        switch self {
        case .v1: error.response
        case .inferenceProtocol: InferenceProtocol.error(error)
        case .grpc: GRPC.failure(error)
        }
    }
}

extension HTTPResponse {
    func adding(_ header: (String, String)) -> HTTPResponse {
        var copy = self
        copy.headers.append((header.0, header.1))
        return copy
    }
}

/// A field as `GET /v1/models` lists it: its spec, with a vocabulary's size in place of its ids (which can run to
/// millions).
struct ListedField: Encodable {
    let field: FieldSpec

    private enum Key: String, CodingKey {
        case vocabularySize = "vocabulary_size"
    }

    func encode(to encoder: any Encoder) throws {
        var listed = field
        listed.vocabulary = nil
        try listed.encode(to: encoder)
        if case .ids(let ids) = field.vocabulary {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(ids.count, forKey: .vocabularySize)
        }
    }
}
