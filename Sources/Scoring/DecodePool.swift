import Foundation

/// Threads of their own for the work a request body makes before it can be batched: inflating, JSON parsing,
/// feature encoding. Large or many bodies then queue here instead of occupying the Dispatch threads that run every
/// connection's I/O, so `/healthz` and small requests keep their latency. FIFO; what waits here holds its body's
/// memory reservation, so the memory budget bounds the queue.
final class DecodePool: @unchecked Sendable {  // `tasks`, `head` and `stopped` are guarded by `condition`
    private let condition = NSCondition()
    private var tasks: [@Sendable () -> Void] = []
    private var head = 0
    private var stopped = false
    let threads: Int
    private static let done: @Sendable () -> Void = {}

    init(threads: Int) {
        precondition(threads >= 1)
        self.threads = threads
    }

    func start() {
        for index in 0..<threads {
            let thread = Thread { [self] in work() }
            thread.name = "funnel-decode-\(index)"
            thread.start()
        }
    }

    func submit(_ task: @escaping @Sendable () -> Void) {
        condition.lock()
        tasks.append(task)
        condition.signal()
        condition.unlock()
    }

    /// Runs what is queued, then ends the threads.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func work() {
        while let task = next() { task() }
    }

    private func next() -> (@Sendable () -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while head == tasks.count {
            if stopped { return nil }
            condition.wait()
        }
        let task = tasks[head]
        tasks[head] = Self.done  // the queue must not keep what the task holds (its memory reservation)
        head += 1
        if head == tasks.count {
            tasks.removeAll(keepingCapacity: tasks.capacity <= 4096)
            head = 0
        } else if head > 1024, head * 2 > tasks.count {  // compact now and then, not per task
            tasks.removeFirst(head)
            head = 0
        }
        return task
    }
}
