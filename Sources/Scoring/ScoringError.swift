import HTTP2
import Ranking

/// Every way a request can fail, each with its HTTP status and a stable snake_case code. Rendered once, at
/// the boundary, as `{"error": {"code": …, "message": …}}`.
struct ScoringError: Error, Equatable {
    let status: Int
    let code: String
    let message: String
    var retryAfterSeconds: Int? = nil

    static func invalidJSON(_ error: JSONParseError) -> ScoringError {
        ScoringError(status: 400, code: "invalid_json", message: "request body is not valid JSON: \(error)")
    }

    static func invalidRequest(_ message: String) -> ScoringError {
        ScoringError(status: 400, code: "invalid_request", message: message)
    }

    static func invalidFeature(_ error: FeatureEncodingError, candidate: Int? = nil) -> ScoringError {
        let place = candidate.map { "candidate \($0): " } ?? ""
        return ScoringError(status: 400, code: "invalid_feature", message: place + error.description)
    }

    static let notFound = ScoringError(status: 404, code: "not_found", message: "no such endpoint")

    static func methodNotAllowed(_ allowed: String) -> ScoringError {
        ScoringError(status: 405, code: "method_not_allowed", message: "use \(allowed) on this endpoint")
    }

    static func unsupportedMediaType(_ type: String) -> ScoringError {
        ScoringError(
            status: 415, code: "unsupported_media_type",
            message: "content-type \(type) is not supported; send application/json")
    }

    static func tooManyCandidates(_ count: Int, limit: Int) -> ScoringError {
        ScoringError(
            status: 413, code: "too_many_candidates", message: "\(count) candidates; at most \(limit) per request")
    }

    static let queueFull = ScoringError(
        status: 503, code: "overloaded", message: "the scoring queue is full; retry later", retryAfterSeconds: 1)

    static let memoryBudgetExhausted = ScoringError(
        status: 503, code: "overloaded",
        message: "the server's memory budget for request bodies is in use; retry later",
        retryAfterSeconds: 1)

    static let notReady = ScoringError(
        status: 503, code: "not_ready", message: "no model is loaded yet", retryAfterSeconds: 1)

    static let draining = ScoringError(
        status: 503, code: "shutting_down", message: "the server is shutting down", retryAfterSeconds: 1)

    static let deadlineExceeded = ScoringError(
        status: 504, code: "deadline_exceeded", message: "the request's deadline passed before it was scored")

    var response: HTTPResponse {
        var response = JSONResponse.make(status: status, body: JSONWriter.error(code: code, message: message))
        if let retryAfterSeconds { response.headers.append(("retry-after", "\(retryAfterSeconds)")) }
        return response
    }
}

enum JSONResponse {
    static func make(status: Int, body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("content-type", "application/json")], body: body)
    }
}
