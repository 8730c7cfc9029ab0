// Fuzz target: an HTTP/2 server connection fed raw client bytes. The client preface is prepended (so every input
// reaches nghttp2 and our callbacks); the first byte picks how the rest is split into reads. The handler answers
// inline with the request body echoed, so responses with DATA frames, flow control, trailers, resets, GOAWAY,
// deadline expiry and graceful shutdown all run. See HTTP2/FuzzHooks.swift for the socket-free harness.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HTTP2

struct EchoHandler: HTTPHandler {
    func handle(_ request: HTTPRequest, cancellation: RequestCancellation, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        respond(HTTPResponse(status: request.method == "HEAD" ? 204 : 200, headers: [("x-path", request.path)], body: request.body))
    }
}

let configuration: HTTPServerConfiguration = {
    var configuration = HTTPServerConfiguration()
    configuration.maxHeaderListBytes = 2048  // small limits so the fuzzer reaches them
    configuration.maxRequestBodyBytes = 4096
    configuration.maxInflatedBodyBytes = 16384
    configuration.maxConcurrentStreams = 8
    configuration.gzipMinimumBytes = 64
    configuration.http2.maxInvalidFrames = 8
    configuration.http2.initialStreamWindowBytes = 8192
    return configuration
}()

let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
let chunkSizes = [Int.max, 9, 64, 1000]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    let bytes = preface + Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let chunk = chunkSizes[Int(data[0]) % chunkSizes.count]
    let pieces = stride(from: 0, to: bytes.count, by: min(chunk, bytes.count)).map { Array(bytes[$0..<min($0 + chunk, bytes.count)]) }
    _ = HTTP2FuzzHooks.feedConnection(pieces, handler: EchoHandler(), configuration: configuration)
    return 0
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32
#endif

@_cdecl("FuzzHTTP2_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
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
