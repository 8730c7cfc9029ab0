import CZlib

/// gzip bodies via zlib. zlib's init macros (deflateInit2, inflateInit2) are not imported into Swift, so the `_`
/// functions are called with `ZLIB_VERSION` and the struct size. Window bits 31 = 15 + 16 selects the gzip wrapper.
enum Gzip {
    enum Failure: Error {
        case corrupt
        case tooLarge
    }

    /// Inflates a gzip body (several concatenated members allowed), failing once the output exceeds `limit`.
    static func decompress(_ input: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        guard !input.isEmpty else { return [] }
        guard input.count <= Int(UInt32.max) else { throw .tooLarge }
        var stream = z_stream()
        guard inflateInit2_(&stream, 31, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(min(limit, input.count * 4))
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let outcome: Failure? = input.withUnsafeBufferPointer { source in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = UInt32(source.count)
            return chunk.withUnsafeMutableBufferPointer { buffer -> Failure? in
                while true {
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = UInt32(buffer.count)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    let produced = buffer.count - Int(stream.avail_out)
                    if output.count + produced > limit { return .tooLarge }
                    output.append(contentsOf: buffer[0..<produced])
                    switch status {
                    case Z_STREAM_END:
                        if stream.avail_in == 0 { return nil }
                        // Another gzip member follows (RFC 1952 allows concatenation).
                        guard inflateReset(&stream) == Z_OK else { return .corrupt }
                    case Z_OK:
                        // No input left and no output made: the stream is truncated.
                        if stream.avail_in == 0 && produced < buffer.count { return .corrupt }
                    default:
                        return .corrupt
                    }
                }
            }
        }
        if let outcome { throw outcome }
        return output
    }

    /// Compresses `input` as one gzip member, or returns `nil` if zlib fails (the caller then sends it plain).
    /// Level 1: the bodies are small JSON documents on a latency path, where speed beats ratio.
    static func compress(_ input: [UInt8]) -> [UInt8]? {
        guard input.count <= Int(UInt32.max / 2) else { return nil }
        var stream = z_stream()
        guard
            deflateInit2_(
                &stream, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
                == Z_OK
        else { return nil }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, UInt(input.count)))
        var output = [UInt8](repeating: 0, count: bound)
        let status = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { buffer in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.avail_in = UInt32(source.count)
                stream.next_out = buffer.baseAddress
                stream.avail_out = UInt32(buffer.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }
}
