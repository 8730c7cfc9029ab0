import Foundation
import HTTP2
import Prometheus
import Ranking
import Synchronization

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

    let configuration: Configuration
    private let queue: Locked<BatchQueue>
    private let wakeUp = NSCondition()
    /// Jobs accepted so far, plus one for `stop`; a worker about to sleep compares it with what it saw before it
    /// looked at the queue.
    private let submissions = Atomic<UInt64>(0)
    private let metrics: ScoringMetrics
    private let scorer: BatchScorer

    init(configuration: Configuration, metrics: ScoringMetrics) {
        self.configuration = configuration
        self.metrics = metrics
        queue = Locked(
            BatchQueue(
                limits: .init(
                    maxBatchRows: configuration.maxBatchRows, maxQueueDelay: configuration.maxQueueDelay,
                    maxQueuedRows: configuration.maxQueuedRows)))
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
        let accepted = queue.withLock { $0.append(job) }
        if accepted {
            metrics.queuedRequests.increment()
            submissions.add(1, ordering: .releasing)
            wakeUp.lock()
            wakeUp.signal()
            wakeUp.unlock()
        }
        return accepted
    }

    /// Lets queued jobs finish, then stops the workers.
    func stop() {
        queue.withLock { $0.stop() }
        submissions.add(1, ordering: .releasing)
        wakeUp.lock()
        wakeUp.broadcast()
        wakeUp.unlock()
    }

    private func work(worker: Int) {
        var workspaces = WorkspaceCache(maxRows: configuration.maxBatchRows)
        while let batch = nextBatch() {
            scorer.run(batch, workspace: workspaces.workspace(for: batch.model))
        }
    }

    /// Blocks until a batch is ready; nil once stopped and drained.
    private func nextBatch() -> BatchQueue.Batch? {
        while true {
            // Read before looking at the queue: a submission after the look bumps it, so the wait below cannot
            // miss it (a lost wakeup would hold a full batch for the whole queue delay).
            let seenSubmissions = submissions.load(ordering: .acquiring)
            var dropped: [(job: ScoringJob, error: ScoringError?)] = []
            let decision = queue.withLock {
                $0.nextBatch(now: .now, isCancelled: { $0.cancellation.isCancelled }, dropped: &dropped)
            }
            for (job, error) in dropped {
                metrics.queuedRequests.decrement()
                metrics.rejections(error == nil ? "cancelled" : "deadline").increment()
                if let error { job.respond(.failure(error)) }
            }
            switch decision {
            case .stop:
                return nil
            case .run(let batch):
                metrics.queuedRequests.decrement(by: Double(batch.jobs.count))
                return batch
            case .wait(let until):
                waitForSubmission(after: seenSubmissions, until: until)
            }
        }
    }

    /// Sleeps until a job was submitted after `seen` (or the batcher stopped, which counts as one), or `until`.
    private func waitForSubmission(after seen: UInt64, until: ContinuousClock.Instant?) {
        wakeUp.lock()
        defer { wakeUp.unlock() }
        while submissions.load(ordering: .acquiring) == seen {
            guard let until else {
                wakeUp.wait()
                continue
            }
            let seconds = (until - ContinuousClock.now) / .seconds(1)
            if seconds <= 0 || !wakeUp.wait(until: Date(timeIntervalSinceNow: seconds)) { return }
        }
    }
}

/// Each worker's workspace, sized for the model it last ran; replaced when a batch for another model arrives.
/// The model is held weakly, not by address: a replaced model is freed at once, and reads as nil afterwards, whereas
/// its address can be reused by the next model loaded.
struct WorkspaceCache {
    let maxRows: Int
    private weak var model: ServableModel?
    private var workspace: InferenceWorkspace?

    init(maxRows: Int) { self.maxRows = maxRows }

    mutating func workspace(for servable: ServableModel) -> InferenceWorkspace {
        if let workspace, model === servable { return workspace }
        let fresh = servable.network.makeWorkspace(maxRows: maxRows, maxRequests: maxRows)
        model = servable
        workspace = fresh
        return fresh
    }
}
