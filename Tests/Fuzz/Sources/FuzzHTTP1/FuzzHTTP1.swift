// Fuzz target: the HTTP/1.1 request path. The input runs (1) through the sans-I/O `HTTP1Parser` alone, appended
// in pieces whose size the first byte picks, and (2) as raw socket input into a server `Connection` (protocol
// detection, HTTP1Connection: pipelining, 100-continue, gzip request bodies, h2c upgrade) with an echo handler.
// See HTTP2/FuzzHooks.swift for the invariants and the socket-free harness.
import FuzzSupport
import HTTP2

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    HTTP2FuzzHooks.runHTTP1Input(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

@_cdecl("FuzzHTTP1_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    return fuzzerMain(argc, argv, fuzzOneInput)
}
