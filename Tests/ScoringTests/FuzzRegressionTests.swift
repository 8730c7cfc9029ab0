import Foundation
import FuzzHarness
import Testing

/// Replays Tests/Fuzz/FailCases/FuzzScoreRequest/ and the seed corpus through the same entry point the fuzz target
/// uses (`ScoringFuzzHarness.scoreStatus`: decode → batch → encode, trapping on a broken invariant). Every input
/// must end in 200, 400 or 413. See docs/RELIABILITY.md.
struct ScoreRequestFuzzRegressionTests {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func files(_ directory: String) -> [String] {
        let path = fuzz.appendingPathComponent(directory).path
        return ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(".") }
            .sorted().map { "\(directory)/\($0)" }
    }

    static let inputs = files("FailCases/FuzzScoreRequest") + files("Corpus/FuzzScoreRequest")

    @Test func theCorpusIsThere() {
        #expect(Self.files("Corpus/FuzzScoreRequest").count >= 5)
    }

    @Test(arguments: inputs)
    func replay(_ name: String) throws {
        let model = try ScoringFuzzHarness.loadModel(path: TestModel.defaultCheckpoint)
        let body = try [UInt8](Data(contentsOf: Self.fuzz.appendingPathComponent(name)))
        #expect([200, 400, 413].contains(ScoringFuzzHarness.scoreStatus(body, model: model, maxCandidates: 64)))
        let (rest, grpc) = ScoringFuzzHarness.inferStatuses(body, model: model, maxCandidates: 64)
        #expect([200, 400, 404, 413].contains(rest) && [nil, 200, 400, 404, 413].contains(grpc))
    }
}
