import Foundation
import Logging
import Prometheus
import Ranking

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
