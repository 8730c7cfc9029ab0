import Foundation
import Ranking
import Testing

@testable import Training

/// The per-step history the report draws: bounded, evenly spaced, kept in the state, absent from old states.
struct TrainingHistoryTests {
    static func point(_ step: Int) -> TrainingHistory.Point {
        TrainingHistory.Point(
            step: step, rows: step * 10, loss: 1 / Double(step), runningCTRAUC: 0.6, runningCTCVRAUC: nil)
    }

    @Test func staysBoundedAndEvenlySpaced() {
        var history = TrainingHistory(capacity: 4)
        for step in 1...4 { history.record(Self.point(step)) }
        #expect(history.points.map(\.step) == [1, 2, 3, 4] && history.spacing == 1)
        for step in 5...12 { history.record(Self.point(step)) }
        #expect(history.points.map(\.step) == [4, 8, 12] && history.spacing == 4)
        for step in 13...1_000 { history.record(Self.point(step)) }
        #expect(history.points.count <= 4)
        let steps = history.points.map(\.step)
        #expect(Set(zip(steps, steps.dropFirst()).map { $1 - $0 }) == [history.spacing])
        #expect(steps.last! > 1_000 - history.spacing)
    }

    /// A diverged run's points are left out, so its state can still be written (JSON has no NaN).
    @Test func nonFiniteFiguresAreNotKept() throws {
        var history = TrainingHistory(capacity: 8)
        history.record(.init(step: 1, rows: 10, loss: .nan, runningCTRAUC: 0.6, runningCTCVRAUC: nil))
        history.record(.init(step: 2, rows: 20, loss: 0.5, runningCTRAUC: .nan, runningCTCVRAUC: 0.7))
        #expect(history.points == [.init(step: 2, rows: 20, loss: 0.5, runningCTRAUC: nil, runningCTCVRAUC: 0.7)])
        _ = try JSONEncoder().encode(history)
    }

    @Test func progressLineAndClock() {
        let progress = TrainingProgress(
            step: 10, rows: 5_000, rowsThisRun: 2_000, plannedRowsThisRun: 12_000, rowsPerSecond: 100, loss: 0.5,
            runningCTRAUC: 0.7, runningCTCVRAUC: nil, terms: [:])
        #expect(progress.secondsLeft == 100)
        #expect(progress.line == "step 10  rows 2000/12000  100 rows/s  ETA 1:40  loss 0.5000  ctr-auc 0.7000")
        #expect(TrainingProgress.clock(59.2) == "1:00" && TrainingProgress.clock(3_725) == "1:02:05")
    }

    /// `train` records a point per progress report; the state keeps them; a state written before the history was
    /// kept (no `history` key in its manifest) still loads, with an empty history.
    @Test func stateKeepsTheHistoryAndOldStatesLoad() throws {
        var configuration = TestSupport.smallConfiguration(.esmm, delay: .model, batchSize: 16)
        configuration.shuffleWindow = 64
        let trainer = try Trainer(schema: TestSupport.schema, configuration: configuration)
        var reports = 0
        _ = try trainer.train(file: NetworkGradientTests.makeFile(), progressEvery: 1) { _ in reports += 1 }
        #expect(reports == 4 && trainer.history.points.map(\.step) == [1, 2, 3, 4])
        #expect(trainer.history.points.allSatisfy { $0.loss.isFinite && $0.rows == $0.step * 16 })
        let path = TestSupport.temporaryDirectory("history") + "/state.ftrain"
        try TrainingStateFile.write(trainer, path: path)
        #expect(try TrainingStateFile.read(path: path).history == trainer.history)

        // Rewrite the manifest without its history, as states were written before.
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let length = bytes[8..<16].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        var manifest = try #require(
            try JSONSerialization.jsonObject(with: Data(bytes[16..<16 + length])) as? [String: Any])
        #expect(manifest.removeValue(forKey: "history") != nil)
        let json = Array(try JSONSerialization.data(withJSONObject: manifest))
        var old = Array(bytes[0..<8])
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { old.append(contentsOf: $0) }
        old += json + bytes[(16 + length)...]
        try Data(old).write(to: URL(fileURLWithPath: path))
        let resumed = try TrainingStateFile.read(path: path)
        #expect(resumed.history.isEmpty && resumed.steps == 4)
        #expect(resumed.servingTensors().flatMap(\.values) == trainer.servingTensors().flatMap(\.values))
    }
}
