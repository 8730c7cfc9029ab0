import Foundation
import HTTP2
import Ranking
import Synchronization
import Prometheus

/// The batch queue and its workers: requests wait in arrival order; a free worker takes as many whole
/// requests as fit in `maxBatchRows` (the batch unit is the candidate row), optionally waiting up to
/// `maxQueueDelay` for more, and runs them through the model they were encoded for. Cancelled requests
/// (stream reset, client gone) and expired ones (deadline passed) are dropped before compute.
///
/// Knobs as Triton and TF Serving name them: max batch rows (`max_batch_size`), max queue delay
/// (`max_queue_delay_microseconds` / `batch_timeout_micros`), a bounded queue (`max_enqueued_batches`,
/// here in rows), one worker thread per core (`num_batch_threads`).
final class MicroBatcher: Sendable {
    struct Configuration: Sendable {
        var maxBatchRows: Int
        var maxQueueDelay: Duration
        var maxQueuedRows: Int
        var workers: Int
    }

    private struct Queue {
        var jobs: [ScoringJob] = []
        var head = 0
        var rows = 0
        var stopped = false

        var count: Int { jobs.count - head }

        mutating func popFirst() -> ScoringJob {
            let job = jobs[head]
            head += 1
            rows -= job.rows
            if head > 1024, head * 2 > jobs.count {  // compact now and then, not per pop
                jobs.removeFirst(head)
                head = 0
            }
            return job
        }
    }

    let configuration: Configuration
    private let queue = Mutex(Queue())
    private let wakeUp = NSCondition()
    private let metrics: ScoringMetrics
    private let scorer: BatchScorer

    init(configuration: Configuration, metrics: ScoringMetrics) {
        self.configuration = configuration
        self.metrics = metrics
        scorer = BatchScorer(metrics: metrics)
    }

    /// Starts the worker threads.
    func start() {
        for index in 0..<configuration.workers {
            let thread = Thread { [self] in self.work(worker: index) }
            thread.name = "funnel-batch-\(index)"
            thread.start()
        }
    }

    /// Queues a job, or refuses it (false) when the queue already holds `maxQueuedRows` rows.
    func submit(_ job: ScoringJob) -> Bool {
        precondition(job.rows <= configuration.maxBatchRows, "requests are limited to max_batch_rows candidates")
        let accepted = queue.withLock { queue in
            guard !queue.stopped, queue.rows + job.rows <= configuration.maxQueuedRows else { return false }
            queue.jobs.append(job)
            queue.rows += job.rows
            return true
        }
        if accepted {
            metrics.queuedRequests.increment()
            wakeUp.lock()
            wakeUp.signal()
            wakeUp.unlock()
        }
        return accepted
    }

    /// Lets queued jobs finish, then stops the workers.
    func stop() {
        queue.withLock { $0.stopped = true }
        wakeUp.lock()
        wakeUp.broadcast()
        wakeUp.unlock()
    }

    private func work(worker: Int) {
        var workspaces = WorkspaceCache(maxRows: configuration.maxBatchRows)
        while let batch = nextBatch() {
            scorer.run(batch, workspace: workspaces.workspace(for: batch[0].request.model))
        }
    }

    /// Blocks until a batch is ready; nil once stopped and drained.
    private func nextBatch() -> [ScoringJob]? {
        while true {
            var dropped: [(ScoringJob, ScoringError?)] = []
            let outcome: BatchOutcome = queue.withLock { queue in
                let now = ContinuousClock.now
                // Drop what nobody waits for any more, from the head.
                while queue.count > 0 {
                    let job = queue.jobs[queue.head]
                    if job.cancellation.isCancelled {
                        dropped.append((queue.popFirst(), nil))
                    } else if let deadline = job.deadline, deadline <= now {
                        dropped.append((queue.popFirst(), .deadlineExceeded))
                    } else {
                        break
                    }
                }
                guard queue.count > 0 else { return queue.stopped ? .stop : .wait(nil) }
                let first = queue.jobs[queue.head]
                // With a queue delay, hold a partial batch until it fills or the oldest job waited long enough.
                if configuration.maxQueueDelay > .zero, queue.rows < configuration.maxBatchRows, !queue.stopped {
                    let release = first.arrival + configuration.maxQueueDelay
                    if release > now { return .wait(release) }
                }
                var batch: [ScoringJob] = []
                var rows = 0
                while queue.count > 0 {
                    let job = queue.jobs[queue.head]
                    guard job.request.model === first.request.model, rows + job.rows <= configuration.maxBatchRows
                    else { break }
                    if job.cancellation.isCancelled {
                        dropped.append((queue.popFirst(), nil))
                        continue
                    }
                    batch.append(queue.popFirst())
                    rows += job.rows
                }
                return .run(batch)
            }
            for (job, error) in dropped {
                metrics.queuedRequests.decrement()
                metrics.rejections(error == nil ? "cancelled" : "deadline").increment()
                if let error { job.respond(.failure(error)) }
            }
            switch outcome {
            case .stop:
                return nil
            case .run(let batch):
                metrics.queuedRequests.decrement(by: Double(batch.count))
                return batch
            case .wait(let until):
                wakeUp.lock()
                if let until {
                    let seconds = (until - ContinuousClock.now).seconds
                    if seconds > 0 { _ = wakeUp.wait(until: Date(timeIntervalSinceNow: seconds)) }
                } else if queue.withLock({ $0.count == 0 && !$0.stopped }) {
                    wakeUp.wait()
                }
                wakeUp.unlock()
            }
        }
    }

    private enum BatchOutcome {
        case run([ScoringJob])
        case wait(ContinuousClock.Instant?)
        case stop
    }
}

/// Each worker's workspaces, one per model it has run; a workspace for a replaced model is dropped when the
/// next model's first batch arrives.
struct WorkspaceCache {
    let maxRows: Int
    private var model: ObjectIdentifier?
    private var workspace: InferenceWorkspace?

    init(maxRows: Int) { self.maxRows = maxRows }

    mutating func workspace(for servable: ServableModel) -> InferenceWorkspace {
        if model != ObjectIdentifier(servable) || workspace == nil {
            workspace = servable.network.makeWorkspace(maxRows: maxRows, maxRequests: maxRows)
            model = ObjectIdentifier(servable)
        }
        return workspace!
    }
}
