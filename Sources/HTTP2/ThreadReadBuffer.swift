#if canImport(Glibc)
    import Glibc
#endif

/// One 64 KiB socket read buffer per thread, allocated on the thread's first read and freed when it exits. A read
/// handler fills it and hands the bytes on before returning (every consumer copies what it keeps), so one buffer per
/// thread serves every connection the thread runs, and a read event allocates nothing.
enum ThreadReadBuffer {
    static let byteCount = 64 * 1024

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let created = pthread_key_create(&key) { buffer in free(buffer) }
        precondition(created == 0, "pthread_key_create failed")
        return key
    }()

    /// The calling thread's buffer.
    static var current: UnsafeMutableRawBufferPointer {
        let buffer =
            pthread_getspecific(key)
            ?? {
                guard let fresh = malloc(byteCount) else { fatalError("out of memory for a read buffer") }
                pthread_setspecific(key, fresh)
                return fresh
            }()
        return UnsafeMutableRawBufferPointer(start: buffer, count: byteCount)
    }
}
