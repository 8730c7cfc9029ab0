import Foundation

@testable import Training

/// A world of `size` ranks that are threads of the test process, so the collectives can be tested without `mpirun`:
/// each collective is one rendezvous where every rank leaves its contribution and all of them get every rank's.
final class ThreadWorld: @unchecked Sendable {  // its state is guarded by `condition`
    let size: Int
    private let condition = NSCondition()
    private var slots: [Any?]
    private var results: [Any] = []
    private var arrived = 0
    private var generation = 0

    init(size: Int) {
        self.size = size
        slots = Array(repeating: nil, count: size)
    }

    /// Every rank's `value`, in rank order, once every rank has called it.
    func exchange(_ value: Any, rank: Int) -> [Any] {
        condition.lock()
        defer { condition.unlock() }
        let mine = generation
        slots[rank] = value
        arrived += 1
        if arrived == size {
            results = slots.map { $0! }
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == mine { condition.wait() }
        }
        return results
    }

    /// Runs `body(rank)` for every rank on a thread of its own and returns their results in rank order.
    func run<T>(_ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        let outcomes = Outcomes<T>(size: size)
        let done = DispatchGroup()
        for rank in 0..<size {
            done.enter()
            Thread {
                outcomes.set(rank, Result { try body(rank) })
                done.leave()
            }.start()
        }
        done.wait()
        return try outcomes.values.map { try $0!.get() }
    }

    func communicator(rank: Int) -> ThreadCommunicator { ThreadCommunicator(world: self, rank: rank) }
}

/// One rank of a `ThreadWorld`. Sums are added in rank order, as the sparse merge does.
final class ThreadCommunicator: Communicator {
    let world: ThreadWorld
    let rank: Int
    var size: Int { world.size }

    init(world: ThreadWorld, rank: Int) {
        self.world = world
        self.rank = rank
    }

    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) { reduce(values) }
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) { reduce(values) }
    func allgatherv(_ values: [Float]) -> [[Float]] { world.exchange(values, rank: rank).map { $0 as! [Float] } }
    func allgatherv(_ values: [Int32]) -> [[Int32]] { world.exchange(values, rank: rank).map { $0 as! [Int32] } }
    func barrier() { _ = world.exchange((), rank: rank) }

    private func reduce<T: Numeric>(_ values: UnsafeMutableBufferPointer<T>) {
        let all = world.exchange(Array(values), rank: rank).map { $0 as! [T] }
        precondition(all.allSatisfy { $0.count == values.count }, "allreduce of different counts")
        for i in values.indices { values[i] = all.dropFirst().reduce(all[0][i]) { $0 + $1[i] } }
    }
}

/// Results written by the rank threads, read after they have all finished.
private final class Outcomes<T>: @unchecked Sendable {  // each slot written by one thread, read after `wait`
    var values: [Result<T, any Error>?]
    private let lock = NSLock()
    init(size: Int) { values = Array(repeating: nil, count: size) }
    func set(_ rank: Int, _ result: Result<T, any Error>) { lock.withLock { values[rank] = result } }
}
