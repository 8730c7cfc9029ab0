import HTTP2
import Prometheus
import Ranking

@testable import Scoring

/// What the score-request fuzz target (`Tests/Fuzz`) and its replay (`ScoringTests/FuzzRegressionTests`) run.
public enum ScoringFuzzHarness {
    /// Loads a checkpoint as the model store does (without warm-up), named `funnel-student` version 1.
    public static func loadModel(path: String) throws -> ServableModel {
        ServableModel(
            name: "funnel-student", version: 1, path: path, checkpoint: try Checkpoint(contentsOfFile: path),
            scoreOverride: nil)
    }

    /// What `POST /v1/score` does with `body` once the transport delivered it: decode against `model`; when that
    /// succeeds, score it in a private workspace with the daemon's batch code and encode the response. Returns
    /// the HTTP status. Traps when an invariant breaks: a decode error that is not 400/413; a body the decoder calls
    /// invalid JSON where the whole-document parser does not, or the reverse (the decoder walks bodies itself); or
    /// a response that is not valid JSON with one result per candidate (`top_k` aside).
    public static func scoreStatus(_ body: [UInt8], model: ServableModel, maxCandidates: Int = 1000) -> Int {
        let decoder = ScoreRequestDecoder(maxCandidates: maxCandidates, ignoreUnknownFeatures: false)
        let request: ScoreRequest
        let isJSON = (try? JSONParser.parse(body)) != nil
        do {
            request = try decoder.decode(body, model: model)
            precondition(isJSON, "the decoder accepted a body that is not JSON")
        } catch {
            precondition(error.status == 400 || error.status == 413, "decoder answered \(error.status)")
            precondition((error.code == "invalid_json") == !isJSON, "decoder said \(error.code) to JSON: \(isJSON)")
            _ = error.response
            return error.status
        }
        precondition(request.itemIndices.count == request.candidateCount * model.encoder.layout.item.slotCount)
        let workspace = model.network.makeWorkspace(maxRows: max(1, request.candidateCount), maxRequests: 1)
        let answer = Locked<ScoreResponse?>(nil)
        let job = ScoringJob(
            request: request, cancellation: RequestCancellation(), arrival: .now, deadline: nil,
            respond: { result in answer.withLock { $0 = try? result.get() } })
        BatchScorer(metrics: metrics).run(.init(model: model, jobs: [job]), workspace: workspace)
        guard let response = answer.withLock({ $0 }) else { preconditionFailure("the batch gave no answer") }
        let expected = min(request.candidateCount, request.topK ?? Int.max)
        precondition(response.results.count == expected, "\(response.results.count) results for \(expected)")
        guard case .object = try? JSONParser.parse(response.encoded()) else {
            preconditionFailure("the response is not valid JSON")
        }
        return 200
    }

    private static let metrics = ScoringMetrics(registry: PrometheusCollectorRegistry())
}
