#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Buffered line output to a file (the simulator's CSVs, `evaluate --predictions`), flushed in 1 MiB writes.
final class TextFileWriter {
    let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var buffer: [UInt8] = []

    init(path: String) throws {
        guard let file = fopen(path, "w") else {
            throw DataError(
                file: path, line: 0, column: nil, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        self.path = path
        self.file = file
        buffer.reserveCapacity(1 << 20)
    }

    func line(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 20 { flush() }
    }

    private func flush() {
        _ = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        flush()
        guard fclose(file) == 0 else {
            throw DataError(
                file: path, line: 0, column: nil, message: "write failed: \(String(cString: strerror(errno)))")
        }
    }
}
