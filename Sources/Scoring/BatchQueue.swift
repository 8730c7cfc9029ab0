/// The batch queue's rules, without threads or clocks of its own: jobs wait in arrival order, and
/// `nextBatch` drops what nobody waits for, holds a partial batch for the queue delay, or takes whole jobs for
/// one model up to the row limit. `MicroBatcher` owns one behind a lock; tests drive it directly.
struct BatchQueue {
    struct Limits {
        var maxBatchRows: Int
        var maxQueueDelay: Duration
        var maxQueuedRows: Int
    }

    /// Jobs for one model, run together; never empty.
    struct Batch {
        let model: ServableModel
        var jobs: [ScoringJob]
    }

    enum Decision {
        case run(Batch)
        /// Nothing to run before this instant (nil: until a job arrives).
        case wait(until: ContinuousClock.Instant?)
        case stop
    }

    let limits: Limits
    /// Popped slots are nil until the next compaction: a job that left must not keep its request (and the memory it
    /// holds against the budget) alive.
    private var jobs: [ScoringJob?] = []
    private var head = 0
    private(set) var rows = 0
    private(set) var isStopped = false

    init(limits: Limits) { self.limits = limits }

    var count: Int { jobs.count - head }

    /// Queues a job, or refuses it (false) when stopped or when it would take the queue past `maxQueuedRows`.
    mutating func append(_ job: ScoringJob) -> Bool {
        guard !isStopped, rows + job.rows <= limits.maxQueuedRows else { return false }
        jobs.append(job)
        rows += job.rows
        return true
    }

    /// Refuses new jobs; queued ones still leave, without waiting for the queue delay.
    mutating func stop() { isStopped = true }

    /// What a free worker does next. Jobs dropped on the way are appended to `dropped`: with `.deadlineExceeded`
    /// for an expired one (its client waits for a 504), nil for a cancelled one (nobody waits).
    /// `isCancelled` is read at most once per job, so a flag that flips meanwhile cannot empty a batch.
    mutating func nextBatch(
        now: ContinuousClock.Instant, isCancelled: (ScoringJob) -> Bool,
        dropped: inout [(job: ScoringJob, error: ScoringError?)]
    ) -> Decision {
        while count > 0 {
            let job = jobs[head]!
            if isCancelled(job) {
                dropped.append((popFirst(), nil))
            } else if let deadline = job.deadline, deadline <= now {
                dropped.append((popFirst(), .deadlineExceeded))
            } else {
                break
            }
        }
        guard count > 0 else { return isStopped ? .stop : .wait(until: nil) }
        let first = jobs[head]!
        // With a queue delay, hold a partial batch until it fills or the oldest job waited long enough.
        if limits.maxQueueDelay > .zero, rows < limits.maxBatchRows, !isStopped {
            let release = first.arrival + limits.maxQueueDelay
            if release > now { return .wait(until: release) }
        }
        // The head was checked above and rides even if its client cancels from now on.
        var batch = Batch(model: first.request.model, jobs: [popFirst()])
        var batchRows = first.rows
        while count > 0 {
            let job = jobs[head]!
            guard job.request.model === batch.model, batchRows + job.rows <= limits.maxBatchRows else { break }
            if isCancelled(job) {
                dropped.append((popFirst(), nil))
                continue
            }
            batch.jobs.append(popFirst())
            batchRows += job.rows
        }
        return .run(batch)
    }

    private mutating func popFirst() -> ScoringJob {
        let job = jobs[head]!
        jobs[head] = nil
        head += 1
        rows -= job.rows
        if head > 1024, head * 2 > jobs.count {  // compact now and then, not per pop
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }
}
