// Fuzz target: a POST /v1/score body → ScoreRequestDecoder (JSONParser → FeatureEncoder) against the default
// model (models/funnel-student/1/model.fckpt, or $FUNNEL_FUZZ_MODEL), then, when it decodes, the batch scorer
// and the response encoder. Invariants (traps): decode errors are 400 or 413; a decoded request yields one result
// per candidate (top_k aside) and a response that parses as JSON. See Scoring/FuzzHooks.swift.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Scoring

let model: ServableModel = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let path = ProcessInfo.processInfo.environment["FUNNEL_FUZZ_MODEL"]
        ?? root.appendingPathComponent("models/funnel-student/1/model.fckpt").path
    do { return try ScoringFuzzHooks.loadModel(path: path) } catch { fatalError("cannot load \(path): \(error)") }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let body = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    // Small candidate limit so the fuzzer reaches "too many candidates" cheaply; the daemon's default is 1000.
    _ = ScoringFuzzHooks.scoreStatus(body, model: model, maxCandidates: 64)
    return 0
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32
#endif

@_cdecl("FuzzScoreRequest_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    _ = model
    #if FUZZING
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput)
    #else
    // Replay mode: every argument is a file (or a directory of files) run through the target once.
    var count = 0
    for argument in CommandLine.arguments.dropFirst() {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: argument))?.sorted().map { "\(argument)/\($0)" } ?? [argument]
        for file in files {
            guard let bytes = FileManager.default.contents(atPath: file) else { continue }
            _ = [UInt8](bytes).withUnsafeBufferPointer { fuzzOneInput($0.baseAddress, $0.count) }
            count += 1
        }
    }
    print("replayed \(count) inputs")
    return 0
    #endif
}
