import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A fixed answer to GET and HEAD on one path, which the transport gives itself as soon as the request is complete,
/// without calling the application: no request value, closure or header strings are made for it. For answers that
/// depend on nothing (a liveness probe). The response is sent as built (never gzipped). Such requests are counted
/// here, for the application's metrics, not timed.
public final class StaticRoute: Sendable {
    public let path: String
    public let response: HTTPResponse
    /// The response's fields, checked once (`respond` then copies bytes).
    let fields: CheckedFields
    private let pathBytes: [UInt8]
    private let served = Atomic<Int>(0)

    public init(path: String, response: HTTPResponse) {
        self.path = path
        self.response = response
        fields = CheckedFields(response.headers)
        pathBytes = Array(path.utf8)
    }

    /// Requests answered from this route so far.
    public var servedCount: Int { served.load(ordering: .relaxed) }

    func recordServed() { served.add(1, ordering: .relaxed) }

    /// The route of `routes` answering `method` on `target` (the request target, query included), if any: GET or
    /// HEAD on exactly the route's path. Compares bytes; makes no string.
    static func find(in routes: [StaticRoute], method: String, target: String) -> StaticRoute? {
        guard !routes.isEmpty, method == "GET" || method == "HEAD" else { return nil }
        var target = target
        return target.withUTF8 { bytes in routes.first { $0.matches(bytes) } }
    }

    private func matches(_ target: UnsafeBufferPointer<UInt8>) -> Bool {
        target.count == pathBytes.count
            && pathBytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, target.baseAddress!, target.count) == 0 }
    }
}

extension HTTPHandler {
    /// No static routes unless the application lists some.
    public var staticRoutes: [StaticRoute] { [] }
}
