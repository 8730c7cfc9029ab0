import Synchronization

/// One bound for the whole daemon on the memory clients can make it hold: request bodies as they are buffered,
/// bodies after inflating, and decode work. Per-stream limits and flow control bound one client; they do not bound
/// what a thousand clients make the server hold at once (nghttp2 sends WINDOW_UPDATE by itself), this does.
///
/// Past the budget, a request that needs more gets 503 with `Retry-After` and work already admitted finishes.
/// Requests without a body (health, readiness, metrics) never touch it. Large requests cannot take it all: a
/// request may hold more than `smallRequestBytes` only while a quarter of the budget stays free, so clients that
/// upload slowly and in bulk leave room for ordinary small requests (measured: 100–200 slow 1 MiB uploads against a
/// 64 MiB budget once turned a well-behaved client's 20-candidate requests away).
public final class MemoryBudget: Sendable {
    /// What a request may hold from the whole budget; beyond it, it must leave `reservedBytes` free.
    public static let smallRequestBytes = 64 * 1024

    public let limitBytes: Int
    /// Kept for requests holding at most `smallRequestBytes`.
    public let reservedBytes: Int
    private let used = Atomic<Int>(0)

    public init(limitBytes: Int) {
        precondition(limitBytes > 0)
        self.limitBytes = limitBytes
        reservedBytes = limitBytes / 4
    }

    public var usedBytes: Int { used.load(ordering: .relaxed) }

    /// Takes `bytes` if they fit with `free` bytes to spare.
    func reserve(_ bytes: Int, keepingFree free: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while true {
            guard current + bytes + free <= limitBytes else { return false }
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
            let isLarge = held + bytes > MemoryBudget.smallRequestBytes
            guard budget.reserve(bytes, keepingFree: isLarge ? budget.reservedBytes : 0) else { return false }
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

extension MemoryReservation {
    /// Appends `bytes` to a body being received, holding the budget for the space the body takes (its capacity, as
    /// requested from the allocator) rather than its count. With the total known in advance (`expectedTotal`, from
    /// content-length) the array is sized once; otherwise it doubles as it grows. False, with `body` unchanged,
    /// when the budget is short. The reservation holds only this body while it is received.
    func append(_ bytes: UnsafeRawBufferPointer, to body: inout [UInt8], expectedTotal: Int?) -> Bool {
        let needed = body.count + bytes.count
        let held = self.bytes
        if needed > held {
            let capacity = expectedTotal.map { max($0, needed) } ?? max(needed, held * 2)
            guard grow(by: capacity - held) else { return false }
            body.reserveCapacity(capacity)
        }
        body.append(contentsOf: bytes)
        return true
    }
}
