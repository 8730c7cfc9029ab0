#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Replaces a file so that a reader sees either the old file or the complete new one: the bytes go to a temporary
/// file beside it, which is fsynced, renamed over the path, and then the directory is fsynced (so the rename
/// survives a crash too). Checkpoints and training states are written this way.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public let path: String
        public let message: String

        public var description: String { "\(path): \(message)" }
    }

    /// Where `write(to:_:)`'s body puts the file's bytes, in order.
    public struct Sink {
        fileprivate let fd: Int32
        fileprivate let path: String

        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw WriteError(path: path, message: String(cString: strerror(errno)))
                }
                offset += written
            }
        }

        public func write(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try write($0) }
        }
    }

    /// Writes what `fill` gives to `path`; on any error the temporary file is removed and `path` is untouched.
    public static func write(to path: String, _ fill: (Sink) throws -> Void) throws {
        let temporary = "\(path).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteError(path: temporary, message: String(cString: strerror(errno))) }
        do {
            defer { close(fd) }
            try fill(Sink(fd: fd, path: temporary))
            guard fsync(fd) == 0 else { throw WriteError(path: temporary, message: String(cString: strerror(errno))) }
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temporary)
            throw WriteError(path: path, message: message)
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let directoryFD = open(directory, O_RDONLY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }
}
