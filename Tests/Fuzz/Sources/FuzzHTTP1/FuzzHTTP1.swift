// Fuzz target: the HTTP/1.1 request path. The input runs (1) through the sans-I/O `HTTP1Parser` alone, appended
// in pieces whose size the first byte picks, (2) through the HTTP/1.1 core (pipelining with answers out of order,
// 100-continue, limits, deadlines, shutdown, the h2c upgrade into the HTTP/2 core), and (3) as raw socket input
// into a server `Connection` with an echo handler. Traps on a broken invariant: see Tests/FuzzHarness.
import FuzzHarness
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let outcome = HTTPFuzzHarness.runHTTP1Input(Array(UnsafeBufferPointer(start: data, count: size)))
    precondition(outcome.leftHanging == 0, "unanswered requests not cancelled at close")
    precondition(outcome.writesAfterClose == 0, "bytes written after the core asked to close")
    return 0
}

@_cdecl("FuzzHTTP1_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    return fuzzerMain(argc, argv, fuzzOneInput)
}
