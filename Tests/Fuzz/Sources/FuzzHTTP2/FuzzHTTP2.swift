// Fuzz target: raw client bytes after the HTTP/2 client preface (so every input reaches nghttp2 and the core's
// callbacks), through the HTTP/2 core and then a whole server `Connection`. The first byte picks how the rest is
// split into reads and how much output room the core gets. Requests are echoed, some at once and some late, so
// responses with DATA frames, flow control, resets, GOAWAY, deadline expiry and graceful shutdown all run. Traps
// on a broken invariant: see Tests/FuzzHarness.
import FuzzHarness
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let outcome = HTTPFuzzHarness.runHTTP2Input(Array(UnsafeBufferPointer(start: data, count: size)))
    precondition(outcome.leftHanging == 0, "unanswered requests not cancelled at close")
    return 0
}

@_cdecl("FuzzHTTP2_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    return fuzzerMain(argc, argv, fuzzOneInput)
}
