import Foundation
import HTTP2
import Prometheus
import Synchronization

/// Every metric the daemon exports, with its help text and buckets, in one place. Names follow Prometheus
/// conventions: `funnel_` prefix, base units (seconds), `_total` on counters; no per-user or per-request labels.
public final class ScoringMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    static let latencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5),
    ]
    static let rowBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
    /// 64 B to 16 MiB in steps of 4×.
    static let sizeBuckets: [Double] = (0...9).map { 64 * pow(4, Double($0)) }

    private let requestDurations: [Route: DurationHistogram]
    private let requestSizes: [Route: ValueHistogram]
    private let responseSizes: [Route: ValueHistogram]
    let candidatesPerRequest: ValueHistogram
    let queuedRequests: Gauge
    /// Requests handed to the application and not answered yet (the transport's own /healthz answers aside).
    let requestsInFlight: Gauge
    /// Per model version, made on first use (`model(name:version:)`).
    private let models = Locked<[ModelKey: ModelMetrics]>([:])
    /// Answered requests by route and status: one relaxed atomic add per request (no lock, no lookup), moved into
    /// the registry's counters when it is scraped (`publishRequestCounts`).
    private let requestCounts = RequestCounts()
    /// Per `RequestCounts` slot, the total already added to the registry's counter.
    private let publishedCounts = Locked<[Int]>(Array(repeating: 0, count: RequestCounts.slots))

    /// `funnel_<name>_<unit>` with its help text.
    static func name(_ name: String, unit: String = "", _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "funnel", metricName: name, unitName: unit, helpText: help)
    }

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        candidatesPerRequest = registry.makeValueHistogram(
            descriptor: Self.name("candidates_per_request", "Candidates per accepted scoring request."), labels: [],
            buckets: Self.rowBuckets)
        queuedRequests = registry.makeGauge(
            descriptor: Self.name("queued_requests", "Scoring requests waiting for a batch worker."), labels: [])
        requestsInFlight = registry.makeGauge(
            descriptor: Self.name(
                "requests_in_flight",
                "Requests received and not answered yet (the transport's own /healthz answers aside)."), labels: [])
        requestDurations = Self.byRoute { route in
            registry.makeDurationHistogram(
                descriptor: Self.name(
                    "request_duration", unit: "seconds", "Time from a complete request to its response, by route."),
                labels: [("route", route.label)], buckets: Self.latencyBuckets)
        }
        requestSizes = Self.byRoute { route in
            registry.makeValueHistogram(
                descriptor: Self.name(
                    "request_size", unit: "bytes", "Request body bytes as received (before gzip decoding), by route."),
                labels: [("route", route.label)], buckets: Self.sizeBuckets)
        }
        responseSizes = Self.byRoute { route in
            registry.makeValueHistogram(
                descriptor: Self.name(
                    "response_size", unit: "bytes", "Response body bytes before gzip encoding, by route."),
                labels: [("route", route.label)], buckets: Self.sizeBuckets)
        }
    }

    /// One metric per route, made at start (every route's series exists from the start: no gaps in rate() after a
    /// restart).
    private static func byRoute<Metric>(_ make: (Route) -> Metric) -> [Route: Metric] {
        Dictionary(uniqueKeysWithValues: Route.allCases.map { ($0, make($0)) })
    }

    /// The batch and latency metrics of one model version (made once, then looked up).
    func model(name: String, version: Int) -> ModelMetrics {
        let key = ModelKey(name: name, version: version)
        return models.withLock { models in
            if let metrics = models[key] { return metrics }
            let metrics = ModelMetrics(registry: registry, name: name, version: version)
            models[key] = metrics
            return metrics
        }
    }

    /// A request's and its response's body sizes, by route.
    func recordSizes(route: Route, request: Int, response: Int) {
        requestSizes[route]!.record(Double(request))
        responseSizes[route]!.record(Double(response))
    }

    /// Requests answered, by route and status code (the registry's counter; see `publishRequestCounts`).
    func requests(route: Route, status: Int) -> Counter {
        registry.makeCounter(
            descriptor: Self.name("requests", unit: "total", "HTTP requests answered, by route and status code."),
            labels: [("route", route.label), ("code", String(status))])
    }

    /// Moves the request counts into the registry, before it is scraped. `staticAnswers` are the transport's own
    /// totals of answers it gave from prebuilt responses (`StaticRoute`).
    func publishRequestCounts(staticAnswers: [(route: Route, status: Int, total: Int)]) {
        publishedCounts.withLock { published in
            var totals = (0..<RequestCounts.slots).map { requestCounts.value(slot: $0) }
            for answer in staticAnswers {
                totals[RequestCounts.slot(route: answer.route, status: answer.status)] += answer.total
            }
            for slot in totals.indices where totals[slot] > published[slot] {
                let (route, status) = RequestCounts.key(slot: slot)
                requests(route: route, status: status).increment(by: Int64(totals[slot] - published[slot]))
                published[slot] = totals[slot]
            }
        }
    }

    /// Time from a complete request to its response, by route (so probes never dilute the scoring latency).
    func requestDuration(route: Route) -> DurationHistogram { requestDurations[route]! }

    /// One answered request: its count by route and status, and its duration by route.
    func record(route: Route, status: Int, duration: Duration) {
        requestCounts.increment(route: route, status: status)
        requestDuration(route: route).record(duration)
    }

    /// Scoring requests refused or dropped before compute, by reason.
    func rejections(_ reason: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name(
                "rejections", unit: "total", "Scoring requests refused or dropped before compute, by reason."),
            labels: [("reason", reason)])
    }

    func reloads(_ result: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name("model_reloads", unit: "total", "Model load attempts by result (success, failure)."),
            labels: [("result", result)])
    }

    func modelInfo(name: String, version: Int) -> Gauge {
        registry.makeGauge(
            descriptor: Self.name("model_info", "1 for the model version being served, 0 for versions served before."),
            labels: [("model", name), ("version", String(version))])
    }

    /// Gauges read from the transport at scrape time.
    func transport(openConnections: Int, openStreams: Int) {
        registry.makeGauge(
            descriptor: Self.name("open_connections", "Open client connections."), labels: []
        )
        .set(Double(openConnections))
        registry.makeGauge(
            descriptor: Self.name("open_streams", "Requests being received or answered."), labels: []
        )
        .set(Double(openStreams))
    }

    /// The memory budget at scrape time (see `MemoryBudget`).
    func memoryBudget(used: Int, limit: Int) {
        registry.makeGauge(
            descriptor: Self.name(
                "memory_budget_used", unit: "bytes",
                "Bytes of request bodies and decode work held against the memory budget."), labels: []
        )
        .set(Double(used))
        registry.makeGauge(
            descriptor: Self.name("memory_budget_limit", unit: "bytes", "The memory budget (memory_budget_bytes)."),
            labels: []
        )
        .set(Double(limit))
    }
}

private struct ModelKey: Hashable {
    let name: String
    let version: Int
}

/// The metrics labelled `model` and `version`: what a batch costs and how long its requests took. A reload to a new
/// version starts new series, so both versions show side by side while traffic moves.
final class ModelMetrics: Sendable {
    let queueWait: DurationHistogram
    let kernelDuration: DurationHistogram
    let batchRows: ValueHistogram
    let batchExecutions: Counter
    let inferences: Counter
    /// From a complete scoring request to its answer (`/v1/score`, OIP REST and gRPC alike).
    let requestDuration: DurationHistogram

    init(registry: PrometheusCollectorRegistry, name: String, version: Int) {
        let labels = [("model", name), ("version", String(version))]
        queueWait = registry.makeDurationHistogram(
            descriptor: ScoringMetrics.name(
                "queue_wait", unit: "seconds",
                "Time a scoring request waited in the batch queue before its batch started."), labels: labels,
            buckets: ScoringMetrics.latencyBuckets)
        kernelDuration = registry.makeDurationHistogram(
            descriptor: ScoringMetrics.name(
                "kernel_duration", unit: "seconds",
                "Time to run one batch through the network (embedding lookup and forward pass)."), labels: labels,
            buckets: ScoringMetrics.latencyBuckets)
        batchRows = registry.makeValueHistogram(
            descriptor: ScoringMetrics.name("batch_rows", "Candidate rows per executed batch."), labels: labels,
            buckets: ScoringMetrics.rowBuckets)
        batchExecutions = registry.makeCounter(
            descriptor: ScoringMetrics.name("batch_executions", unit: "total", "Batches run through the network."),
            labels: labels)
        inferences = registry.makeCounter(
            descriptor: ScoringMetrics.name("inferences", unit: "total", "Candidate rows scored."), labels: labels)
        requestDuration = registry.makeDurationHistogram(
            descriptor: ScoringMetrics.name(
                "inference_request_duration", unit: "seconds",
                "Time from a complete scoring request to its answer, by model version."), labels: labels,
            buckets: ScoringMetrics.latencyBuckets)
    }
}

/// One atomic counter per route and status code (100…599), in one allocation made at start.
final class RequestCounts: Sendable {
    static let statuses = 100...599
    static let slots = Route.allCases.count * statuses.count
    private nonisolated(unsafe) let counts: UnsafeMutablePointer<Atomic<Int>>  // immutable pointer to atomics

    init() {
        counts = .allocate(capacity: Self.slots)
        for slot in 0..<Self.slots { (counts + slot).initialize(to: Atomic(0)) }
    }

    deinit {
        counts.deinitialize(count: Self.slots)
        counts.deallocate()
    }

    static func slot(route: Route, status: Int) -> Int {
        let clamped = min(max(status, statuses.lowerBound), statuses.upperBound)
        return route.rawValue * statuses.count + clamped - statuses.lowerBound
    }

    static func key(slot: Int) -> (route: Route, status: Int) {
        (Route(rawValue: slot / statuses.count)!, statuses.lowerBound + slot % statuses.count)
    }

    func increment(route: Route, status: Int) {
        counts[Self.slot(route: route, status: status)].add(1, ordering: .relaxed)
    }

    func value(slot: Int) -> Int { counts[slot].load(ordering: .relaxed) }
}
