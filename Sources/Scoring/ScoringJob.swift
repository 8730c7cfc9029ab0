import HTTP2

/// A decoded request waiting for, or riding in, a batch.
struct ScoringJob: Sendable {
    let request: ScoreRequest
    let cancellation: RequestCancellation
    let arrival: ContinuousClock.Instant
    /// When the client stops caring (from `deadline_ms`); nil for no deadline.
    let deadline: ContinuousClock.Instant?
    let respond: @Sendable (Result<ScoreResponse, ScoringError>) -> Void

    var rows: Int { request.candidateCount }
}
