import CPrivateFile

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The bytes of a checkpoint: a read-only memory map of the file, a map of a private copy of it, or an aligned copy of
/// bytes handed in. Tensors are views into it, so a mapped 1 GiB table costs page cache, not a heap copy.
final class CheckpointStorage: @unchecked Sendable {  // immutable after init
    let base: UnsafeRawPointer
    let count: Int
    /// Where the bytes live: false when they were copied into the heap.
    let isMapped: Bool

    /// Maps the file itself: cheap, but a later write to the file shows through the map, and truncating it turns
    /// reads past the new end into SIGBUS. For tools that read a file nobody is changing.
    convenience init(mapping path: String) throws(CheckpointError) {
        let fd = try Self.openRegularFile(path)
        defer { close(fd) }
        try self.init(mappingDescriptor: fd, count: Self.size(of: fd, path: path), path: path)
    }

    /// Copies the file into an unnamed file in `directory` (a reflink where the file system can, otherwise an
    /// in-kernel copy; never through the heap) and maps the copy, which nothing else can reach. The daemon serves
    /// from these: an operator's `cp` over the served file, or a truncation, then changes nothing already loaded.
    /// A file that changes while it is being copied is refused; the next attempt sees it settled. Where no file can
    /// be made in `directory` (missing, read-only), the bytes are read into the heap instead: just as private, but
    /// resident (`isMapped` false).
    convenience init(privateCopyOf path: String, in directory: String) throws(CheckpointError) {
        let source = try Self.openRegularFile(path)
        defer { close(source) }
        let before = try Self.identity(of: source, path: path)
        let copy = funnel_private_file(directory)
        guard copy >= 0 else {
            try self.init(reading: source, count: before.size, path: path)
            guard try Self.identity(of: source, path: path) == before else {
                throw .io(path: path, message: "the file changed while it was being read")
            }
            return
        }
        defer { close(copy) }
        guard funnel_copy_file(source, copy, Int64(before.size)) == 0 else {
            throw .io(path: path, message: "private copy: \(String(cString: strerror(errno)))")
        }
        guard try Self.identity(of: source, path: path) == before else {
            throw .io(path: path, message: "the file changed while it was being copied")
        }
        try self.init(mappingDescriptor: copy, count: before.size, path: path)
    }

    /// Reads `count` bytes of `fd` into aligned heap memory.
    private init(reading fd: Int32, count: Int, path: String) throws(CheckpointError) {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        var offset = 0
        while offset < count {
            let got = pread(fd, memory + offset, count - offset, off_t(offset))
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else {
                memory.deallocate()
                throw .io(path: path, message: got == 0 ? "the file ended early" : String(cString: strerror(errno)))
            }
            offset += got
        }
        base = UnsafeRawPointer(memory)
        self.count = count
        isMapped = false
    }

    private init(mappingDescriptor fd: Int32, count: Int, path: String) throws(CheckpointError) {
        self.count = count
        isMapped = count > 0
        if count == 0 {
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64))
            return
        }
        let address = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw .io(path: path, message: "mmap: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(address)
    }

    private static func openRegularFile(_ path: String) throws(CheckpointError) -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, message: String(cString: strerror(errno))) }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .io(path: path, message: "not a regular file")
        }
        return fd
    }

    private static func size(of fd: Int32, path: String) throws(CheckpointError) -> Int {
        try identity(of: fd, path: path).size
    }

    /// What a writer cannot avoid changing: size, modification and status-change times.
    private struct Identity: Equatable {
        let size: Int
        let modified: timespec
        let changed: timespec

        static func == (a: Identity, b: Identity) -> Bool {
            a.size == b.size && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
                && a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec
        }
    }

    private static func identity(of fd: Int32, path: String) throws(CheckpointError) -> Identity {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .io(path: path, message: String(cString: strerror(errno))) }
        return Identity(size: Int(status.st_size), modified: status.st_mtim, changed: status.st_ctim)
    }

    init(copying bytes: some Collection<UInt8>) {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        UnsafeMutableRawBufferPointer(start: memory, count: bytes.count).copyBytes(from: bytes)
        base = UnsafeRawPointer(memory)
        count = bytes.count
        isMapped = false
    }

    deinit {
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}
