import HTTP2
import InferenceMessages
import Prometheus
import Ranking
import SwiftProtobuf

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
        guard case .object = try? JSONParser.parse(score(request, model: model).encoded()) else {
            preconditionFailure("the response is not valid JSON")
        }
        return 200
    }

    /// What the Open Inference Protocol's infer routes do with `body`: as JSON tensors (REST) and, when it parses
    /// as one, as a gRPC ModelInfer message. Returns the statuses (nil where the bytes are not such a message).
    /// Traps when an error is not 400/404/413, or an answer lacks a value per candidate in each output.
    public static func inferStatuses(_ body: [UInt8], model: ServableModel, maxCandidates: Int = 1000)
        -> (rest: Int, grpc: Int?)
    {
        let decoder = InferRequestDecoder(maxCandidates: maxCandidates, ignoreUnknownFeatures: false)
        let rest = status { () throws(ScoringError) in
            let request = try decoder.decode(body, model: model)
            let response = InferenceProtocol.inferResponse(score(request.score, model: model), request: request)
            guard case .object(let members) = try? JSONParser.parse(response.body),
                case .array(let outputs)? = members.first(where: { $0.key == "outputs" })?.value,
                outputs.count == request.selectedOutputs.count
            else { preconditionFailure("the infer response is not JSON with every output") }
        }
        guard let message = try? Inference_ModelInferRequest(serializedBytes: body) else { return (rest, nil) }
        let grpc = status { () throws(ScoringError) in
            let request = try decoder.decode(message, model: model, deadlineMilliseconds: nil)
            let scored = score(request.score, model: model)
            let response = InferenceProtocol.grpcInferResponse(scored, request: request)
            for (tensor, raw) in zip(response.outputs, response.rawOutputContents) {
                precondition(raw.count == scored.results.count * (tensor.datatype == "INT64" ? 8 : 4))
            }
        }
        return (rest, grpc)
    }

    private static func status(_ decodeAndAnswer: () throws(ScoringError) -> Void) -> Int {
        do {
            try decodeAndAnswer()
            return 200
        } catch {
            precondition([400, 404, 413].contains(error.status), "decoder answered \(error.status)")
            return error.status
        }
    }

    /// Scores `request` in a private workspace with the daemon's batch code.
    private static func score(_ request: ScoreRequest, model: ServableModel) -> ScoreResponse {
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
        return response
    }

    private static let metrics = ScoringMetrics(registry: PrometheusCollectorRegistry())
}
