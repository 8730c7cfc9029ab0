// The entry every fuzz target's `<Target>_main` calls: with -DFUZZING, libFuzzer's driver; without, a replayer
// that runs every file given (or every file in a directory given) through the target once.
import Foundation

#if FUZZING
    // swift-format-ignore: AlwaysUseLowerCamelCase
    // libFuzzer's C entry point, by its own name.
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32
#endif

public func fuzzerMain(
    _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ target: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32 {
    #if FUZZING
        var argc = argc
        var argv = argv
        return LLVMFuzzerRunDriver(&argc, &argv, target)
    #else
        var count = 0
        for argument in CommandLine.arguments.dropFirst() {
            let files =
                (try? FileManager.default.contentsOfDirectory(atPath: argument))?.sorted().map { "\(argument)/\($0)" }
                ?? [argument]
            for file in files {
                guard let bytes = FileManager.default.contents(atPath: file) else { continue }
                _ = [UInt8](bytes).withUnsafeBufferPointer { target($0.baseAddress, $0.count) }
                count += 1
            }
        }
        print("replayed \(count) inputs")
        return 0
    #endif
}
