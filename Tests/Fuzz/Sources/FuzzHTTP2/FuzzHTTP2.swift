// Fuzz target: an HTTP/2 server connection fed raw client bytes. The client preface is prepended (so every input
// reaches nghttp2 and our callbacks); the first byte picks how the rest is split into reads. The handler answers
// inline with the request body echoed, so responses with DATA frames, flow control, trailers, resets, GOAWAY,
// deadline expiry and graceful shutdown all run. See HTTP2/FuzzHooks.swift for the socket-free harness.
import FuzzSupport
import HTTP2

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    HTTP2FuzzHooks.runHTTP2Input(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

@_cdecl("FuzzHTTP2_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    return fuzzerMain(argc, argv, fuzzOneInput)
}
