// Fuzz target: a POST /v1/score body → ScoreRequestDecoder (JSONParser → FeatureEncoder) against the default
// model (models/funnel-student/1/model.fckpt, or $FUNNEL_FUZZ_MODEL), then, when it decodes, the batch scorer
// and the response encoder. Invariants (traps): decode errors are 400 or 413; a decoded request yields one result
// per candidate (top_k aside) and a response that parses as JSON. The same bytes then go through the Open
// Inference Protocol's decoders: as JSON tensors, and as a gRPC ModelInfer message. See Tests/FuzzHarness.
import Foundation
import FuzzHarness
import FuzzSupport
import Scoring

let model: ServableModel = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let path =
        ProcessInfo.processInfo.environment["FUNNEL_FUZZ_MODEL"]
        ?? root.appendingPathComponent("models/funnel-student/1/model.fckpt").path
    do { return try ScoringFuzzHarness.loadModel(path: path) } catch { fatalError("cannot load \(path): \(error)") }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let body = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    // Small candidate limit so the fuzzer reaches "too many candidates" cheaply; the daemon's default is 1000.
    _ = ScoringFuzzHarness.scoreStatus(body, model: model, maxCandidates: 64)
    _ = ScoringFuzzHarness.inferStatuses(body, model: model, maxCandidates: 64)
    return 0
}

@_cdecl("FuzzScoreRequest_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    _ = model  // load the model before the first input, not inside it
    return fuzzerMain(argc, argv, fuzzOneInput)
}
