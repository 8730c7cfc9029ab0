#if canImport(Glibc)
    import Glibc
#endif

/// State behind a pthread mutex: the project's one lock type. The standard library's `Synchronization.Mutex` locks
/// with futexes inside a library ThreadSanitizer does not instrument, so TSan reports every access it guards as a
/// race (measured: two threads appending under one `Mutex` give a "Swift access race"). TSan intercepts pthread
/// mutexes, so with this type `scripts/tsan.sh` reports real races only.
public final class Locked<State>: @unchecked Sendable {  // `state` is only touched with `mutex` held
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var state: State

    public init(_ state: State) {
        self.state = state
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func withLock<Result, Failure: Error>(
        _ body: (inout State) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }
}
