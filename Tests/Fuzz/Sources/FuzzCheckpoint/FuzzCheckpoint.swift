// Fuzz target: checkpoint bytes → `Checkpoint(bytes:)` (every check of the loader), and, when it loads, the
// network built from it run on one request of one candidate. The first input byte picks a mode: even = the
// bytes as given; odd = every checksum recomputed first. See Tests/FuzzHarness.
import FuzzHarness
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    try? CheckpointFuzzHarness.load(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

@_cdecl("FuzzCheckpoint_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    return fuzzerMain(argc, argv, fuzzOneInput)
}
