// Fuzz target: the HTTP/1.1 request path. The input runs (1) through the sans-I/O `HTTP1Parser` alone, appended
// in pieces whose size the first byte picks, and (2) as raw socket input into a server `Connection` (protocol
// detection, HTTP1Connection: pipelining, 100-continue, gzip request bodies, h2c upgrade) with an echo handler.
// See HTTP2/FuzzHooks.swift for the invariants and the socket-free harness.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HTTP2

/// Answers inline: 200 with the request body echoed (so responses have bodies), 204 for HEAD.
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
    configuration.gzipMinimumBytes = 64
    return configuration
}()

let chunkSizes = [Int.max, 1, 2, 3, 7, 16, 100, 1000]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let chunk = chunkSizes[Int(data[0]) % chunkSizes.count]
    _ = HTTP2FuzzHooks.parseHTTP1(bytes, chunkSize: chunk, maxHeaderBytes: 2048, maxBodyBytes: 4096)
    // The connection gets coarser reads (each one costs queue hops): the parser above already saw small ones.
    let read = max(chunk, 512)
    let pieces = stride(from: 0, to: bytes.count, by: read).map { Array(bytes[$0..<min($0 + read, bytes.count)]) }
    _ = HTTP2FuzzHooks.feedConnection(pieces, handler: EchoHandler(), configuration: configuration)
    return 0
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32
#endif

@_cdecl("FuzzHTTP1_main")
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
