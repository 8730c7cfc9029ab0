import Dispatch
import HTTP2
import Synchronization

/// The application used by the transport tests.
///
/// - `/echo`: 200, the request body back (a gzip body inflated, to at most `echoInflateLimit` bytes), with `x-method`,
///   `x-path`, `x-query`, `x-version` headers, and `x-probe` echoing the request's `x-probe` field ("none" without).
/// - `/static`: GET and HEAD answered by the transport from `staticRoute`; other methods reach `handle` (404).
/// - `/delay?ms=N`: 200 "delayed" after N ms, answered from another queue.
/// - `/hang`: never answers; records its cancellation so tests can see it signalled.
/// - `/big?bytes=N`: N bytes of compressible text.
/// - anything else: 404.
final class TestHandler: HTTPHandler {
    static let echoInflateLimit = 10_000
    let requestCount = Atomic<Int>(0)
    let staticRoute = StaticRoute(
        path: "/static",
        response: HTTPResponse(status: 200, headers: [("x-static", "yes")], body: Array("static ok".utf8)))
    var staticRoutes: [StaticRoute] { [staticRoute] }
    private let hanging = Locked<[RequestCancellation]>([])

    var hangingCancelledCount: Int { hanging.withLock { $0.filter(\.isCancelled).count } }
    var hangingCount: Int { hanging.withLock { $0.count } }

    func handle(
        _ request: HTTPRequest, cancellation: RequestCancellation, respond: @escaping @Sendable (HTTPResponse) -> Void
    ) {
        requestCount.add(1, ordering: .relaxed)
        let parameter = request.query.flatMap { query in
            query.split(separator: "&").compactMap { pair -> Int? in
                let parts = pair.split(separator: "=")
                return parts.count == 2 ? Int(parts[1]) : nil
            }.first
        }
        switch request.path {
        case "/echo":
            switch request.decodedBody(limit: Self.echoInflateLimit) {
            case .success(let body):
                respond(
                    HTTPResponse(
                        status: 200,
                        headers: [
                            ("x-method", request.method), ("x-path", request.path), ("x-query", request.query ?? ""),
                            ("x-version", request.version.rawValue), ("x-probe", request.header("x-probe") ?? "none"),
                        ], body: body))
            case .failure(let error):
                respond(error.response)
            }
        case "/delay":
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(parameter ?? 100)) {
                respond(HTTPResponse(status: 200, body: Array("delayed".utf8)))
            }
        case "/hang":
            hanging.withLock { $0.append(cancellation) }
        case "/big":
            let count = parameter ?? 4096
            let line = Array("the quick brown fox jumps over the lazy dog\n".utf8)
            let body = (0..<count).map { line[$0 % line.count] }
            respond(HTTPResponse(status: 200, headers: [("content-type", "text/plain")], body: body))
        default:
            respond(HTTPResponse(status: 404, body: Array("not found".utf8)))
        }
    }
}
