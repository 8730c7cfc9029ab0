import Synchronization

/// One bound for the whole daemon on the memory clients can make it hold: request bodies as they are buffered,
/// bodies after inflating, and decode work. Per-stream limits and flow control bound one client; they do not bound
/// what a thousand clients make the server hold at once (nghttp2 sends WINDOW_UPDATE by itself), this does.
///
/// Past the budget, a request that needs more gets 503 with `Retry-After` and work already admitted finishes.
/// Requests without a body (health, readiness, metrics) never touch it.
public final class MemoryBudget: Sendable {
    public let limitBytes: Int
    private let used = Atomic<Int>(0)

    public init(limitBytes: Int) {
        precondition(limitBytes > 0)
        self.limitBytes = limitBytes
    }

    public var usedBytes: Int { used.load(ordering: .relaxed) }

    /// Takes `bytes` if they fit.
    func reserve(_ bytes: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while true {
            guard current + bytes <= limitBytes else { return false }
            let (exchanged, original) = used.weakCompareExchange(
                expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    func release(_ bytes: Int) {
        used.subtract(bytes, ordering: .relaxed)
    }
}

/// What one request holds against the budget. It travels with the request (`HTTPRequest.memory`) and gives its
/// bytes back when the last reference to it goes, however the request ends: answered, reset, or failed.
public final class MemoryReservation: Sendable {
    public let budget: MemoryBudget
    private let held = Locked(0)

    public init(budget: MemoryBudget) { self.budget = budget }

    deinit { budget.release(held.withLock { $0 }) }

    public var bytes: Int { held.withLock { $0 } }

    /// Holds `bytes` more, if the budget has them.
    public func grow(by bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        return held.withLock { held in
            guard budget.reserve(bytes) else { return false }
            held += bytes
            return true
        }
    }

    /// Gives back all but `bytes` (nothing when holding no more than that).
    public func shrink(to bytes: Int) {
        held.withLock { held in
            guard held > bytes else { return }
            budget.release(held - bytes)
            held = bytes
        }
    }
}
