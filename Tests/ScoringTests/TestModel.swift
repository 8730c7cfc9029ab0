import Foundation
import HTTP2
import Logging
import Prometheus
import Ranking
import Synchronization

@testable import Scoring

/// The repository's default model, loaded as the daemon loads it.
enum TestModel {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let defaultCheckpoint = root.appendingPathComponent("models/funnel-student/1/model.fckpt").path
    /// Version 2, trained: a different network shape from version 1.
    static let trainedCheckpoint = root.appendingPathComponent("models/funnel-student/2/model.fckpt").path

    static func servable(path: String = defaultCheckpoint, version: Int = 1) throws -> ServableModel {
        ServableModel(
            name: "funnel-student", version: version, path: path, checkpoint: try Checkpoint(contentsOfFile: path),
            scoreOverride: nil)
    }

    /// pCTR and pCVR of a fixed 5-candidate request, scored as a batch worker scores it (features a model does not
    /// read are ignored, so any model can score it).
    static func predictions(_ model: ServableModel) throws -> [Float] {
        let request = try ScoreRequestDecoder(maxCandidates: 100, ignoreUnknownFeatures: true)
            .decode(body(candidates: 5), model: model)
        let answer = Locked<[Float]>([])
        let job = ScoringJob(
            request: request, cancellation: RequestCancellation(), arrival: .now, deadline: nil,
            respond: { result in
                let results = (try? result.get().results) ?? []
                answer.withLock { $0 = results.flatMap { [$0.prediction.ctr, $0.prediction.cvr] } }
            })
        BatchScorer(metrics: metrics()).run(
            .init(model: model, jobs: [job]), workspace: model.network.makeWorkspace(maxRows: 16, maxRequests: 1))
        return answer.withLock { $0 }
    }

    static func metrics() -> ScoringMetrics { ScoringMetrics(registry: PrometheusCollectorRegistry()) }

    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A valid request body for the default model with `count` candidates.
    static func body(candidates count: Int, extra: String = "") -> [UInt8] {
        let candidates = (0..<count).map { i in
            #"{"id": "item-\#(i)", "features": {"item_id": \#(1000 + i), "item_category": "c\#(i % 7)", "price": \#(10 + i)}}"#
        }
        return Array(
            #"{"user": {"user_id": "u1", "user_recent_categories": ["c1", "c2"], "user_age": 31}, "context": {"device": "ios"}, "candidates": [\#(candidates.joined(separator: ","))]\#(extra)}"#
                .utf8)
    }
}
