import Synchronization

/// A complete request as the transport hands it to the application: headers parsed and body received as sent.
/// A `Content-Encoding: gzip` body is still compressed: the application inflates it with `decodedBody(limit:)`, off
/// the connection's thread and within a limit of its own choosing.
public struct HTTPRequest: Sendable {
    public enum Version: String, Sendable {
        case http1 = "HTTP/1.1"
        case http2 = "HTTP/2"
    }

    public var method: String
    /// The path without the query string, e.g. `/v1/score`.
    public var path: String
    /// The raw query string after `?`, if any.
    public var query: String?
    /// Header fields in arrival order; names are lower-case.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var version: Version
    /// What the body holds against the server's memory budget; the application may grow it for the work the body
    /// makes (inflating, decoding) and keeps it until it answers.
    public var memory: MemoryReservation?

    public init(
        method: String, path: String, query: String? = nil, headers: [(name: String, value: String)] = [],
        body: [UInt8] = [], version: Version = .http2, memory: MemoryReservation? = nil
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.version = version
        self.memory = memory
    }

    /// The first value of the header `name` (lower-case).
    public func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }
}

/// A complete response. The transport adds `content-length`, and gzips the body when the client accepts it
/// (unless the response has trailers: those belong to a protocol that frames its own body, such as gRPC).
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Names lower-case.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Fields sent after the body (gRPC's `grpc-status`); HTTP/2 only, HTTP/1.1 drops them.
    public var trailers: [(name: String, value: String)]

    public init(
        status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        trailers: [(name: String, value: String)] = []
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.trailers = trailers
    }
}

/// Set by the transport when the client can no longer receive the answer (stream reset, connection closed),
/// so the application can drop the request's work before computing it.
public final class RequestCancellation: Sendable {
    private let cancelled = Atomic<Bool>(false)

    public init() {}

    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    public func cancel() { cancelled.store(true, ordering: .relaxed) }
}

/// The application side of the server.
public protocol HTTPHandler: Sendable {
    /// Called once per complete request on the connection's queue: must not block. Call `respond` exactly
    /// once, from any thread, now or later (e.g. after a batch ran); calls after the client went away are
    /// ignored.
    func handle(
        _ request: HTTPRequest, cancellation: RequestCancellation,
        respond: @escaping @Sendable (HTTPResponse) -> Void)

    /// Paths the transport answers itself from a prebuilt response (`StaticRoute`), read once when the server starts.
    var staticRoutes: [StaticRoute] { get }
}
