import CMalloc
import Foundation
import HTTP2
import Prometheus
import Ranking
import Synchronization
import Testing

@testable import Scoring

/// The batch queue with real worker threads: every accepted job is answered exactly once, batches respect
/// their row limit and never mix models, cancelled jobs are dropped and expired ones get 504.
struct MicroBatcherTests {
    let model: ServableModel
    let metrics = TestModel.metrics()
    let decoder = ScoreRequestDecoder(maxCandidates: 100, ignoreUnknownFeatures: false)

    init() throws { model = try TestModel.servable() }

    final class Answers: Sendable {
        let results = Locked<[Int: Result<ScoreResponse, ScoringError>]>([:])
        let done = DispatchGroup()
    }

    func job(
        _ index: Int, candidates: Int, model: ServableModel, answers: Answers,
        cancellation: RequestCancellation = .init(),
        deadline: ContinuousClock.Instant? = nil
    ) throws -> ScoringJob {
        answers.done.enter()
        return ScoringJob(
            request: try decoder.decode(TestModel.body(candidates: candidates), model: model),
            cancellation: cancellation,
            arrival: .now, deadline: deadline,
            respond: { result in
                answers.results.withLock { $0[index] = result }
                answers.done.leave()
            })
    }

    @Test func everyJobIsAnsweredWithinItsBatchLimits() throws {
        let batcher = MicroBatcher(
            configuration: .init(maxBatchRows: 64, maxQueueDelay: .zero, maxQueuedRows: 10_000, workers: 2),
            metrics: metrics)
        let other = try TestModel.servable(version: 2)  // same weights, another servable: must not share a batch
        let answers = Answers()
        for index in 0..<60 {
            #expect(
                batcher.submit(
                    try job(index, candidates: 1 + index % 40, model: index % 3 == 0 ? other : model, answers: answers))
            )
        }
        batcher.start()
        #expect(answers.done.wait(timeout: .now() + 30) == .success)
        batcher.stop()
        let results = answers.results.withLock { $0 }
        #expect(results.count == 60)
        for (index, result) in results {
            let response = try result.get()
            #expect(response.results.count == 1 + index % 40)
            #expect(response.model.version == (index % 3 == 0 ? 2 : 1))
            #expect(response.results.allSatisfy { $0.prediction.ctr > 0 && $0.prediction.ctr < 1 })
        }
        let exposition = metrics.registry.emitToString()
        // Rows by model version: request i went to version 2 when i % 3 == 0.
        for version in [1, 2] {
            let rows = (0..<60).filter { ($0 % 3 == 0) == (version == 2) }.reduce(0) { $0 + 1 + $1 % 40 }
            #expect(
                exposition.contains(#"funnel_inferences_total{model="funnel-student",version="\#(version)"} \#(rows)"#))
            #expect(
                exposition.contains(
                    #"funnel_batch_rows_bucket{model="funnel-student",version="\#(version)",le="64.0"}"#))
            #expect(
                !exposition.contains(
                    #"funnel_batch_rows_bucket{model="funnel-student",version="\#(version)",le="+Inf"} 0"#))
        }
    }

    @Test func cancelledJobsAreDroppedAndExpiredOnesAnswered504() throws {
        let batcher = MicroBatcher(
            configuration: .init(maxBatchRows: 64, maxQueueDelay: .zero, maxQueuedRows: 1000, workers: 1),
            metrics: metrics)
        let answers = Answers()
        let cancelled = RequestCancellation()
        let dropped = try job(0, candidates: 5, model: model, answers: answers, cancellation: cancelled)
        answers.done.leave()  // a dropped job is never answered
        #expect(batcher.submit(dropped))
        cancelled.cancel()
        #expect(batcher.submit(try job(1, candidates: 5, model: model, answers: answers, deadline: .now - .seconds(1))))
        #expect(batcher.submit(try job(2, candidates: 5, model: model, answers: answers)))
        batcher.start()
        #expect(answers.done.wait(timeout: .now() + 30) == .success)
        batcher.stop()
        let results = answers.results.withLock { $0 }
        #expect(results[0] == nil)
        #expect(throws: ScoringError.deadlineExceeded) { try results[1]!.get() }
        #expect(try results[2]!.get().results.count == 5)
        #expect(metrics.registry.emitToString().contains(#"funnel_rejections_total{reason="cancelled"} 1"#))
    }

    @Test func aFullQueueRefusesNewJobs() throws {
        let batcher = MicroBatcher(
            configuration: .init(maxBatchRows: 64, maxQueueDelay: .zero, maxQueuedRows: 64, workers: 1),
            metrics: metrics)
        let answers = Answers()
        #expect(batcher.submit(try job(0, candidates: 60, model: model, answers: answers)))
        let refused = try job(1, candidates: 5, model: model, answers: answers)
        answers.done.leave()
        #expect(!batcher.submit(refused))
        batcher.start()
        #expect(answers.done.wait(timeout: .now() + 30) == .success)
        batcher.stop()
    }

    @Test func aQueueDelayGathersRequestsIntoOneBatch() throws {
        let batcher = MicroBatcher(
            configuration: .init(maxBatchRows: 64, maxQueueDelay: .milliseconds(300), maxQueuedRows: 1000, workers: 1),
            metrics: metrics)
        batcher.start()
        let answers = Answers()
        for index in 0..<4 { #expect(batcher.submit(try job(index, candidates: 10, model: model, answers: answers))) }
        #expect(answers.done.wait(timeout: .now() + 30) == .success)
        batcher.stop()
        #expect(
            metrics.registry.emitToString().contains(
                #"funnel_batch_executions_total{model="funnel-student",version="1"} 1"#))
    }

    @Test func topKSortsByScore() throws {
        let answers = Answers()
        let batcher = MicroBatcher(
            configuration: .init(maxBatchRows: 64, maxQueueDelay: .zero, maxQueuedRows: 1000, workers: 1),
            metrics: metrics)
        var request = try job(0, candidates: 20, model: model, answers: answers)
        request = ScoringJob(
            request: try decoder.decode(TestModel.body(candidates: 20, extra: #", "top_k": 5"#), model: model),
            cancellation: request.cancellation, arrival: request.arrival, deadline: nil, respond: request.respond)
        #expect(batcher.submit(request))
        batcher.start()
        #expect(answers.done.wait(timeout: .now() + 30) == .success)
        batcher.stop()
        let results = try answers.results.withLock { $0 }[0]!.get().results
        #expect(results.count == 5)
        #expect(zip(results, results.dropFirst()).allSatisfy { $0.score >= $1.score })
    }

    /// A client resetting its stream right after sending it flips the flag while a worker forms a batch. The head
    /// job must ride or be dropped whole: this once returned an empty batch and trapped at `batch[0]`.
    @Test func cancellationsRacingBatchFormationNeverCrashAWorker() throws {
        let batcher = MicroBatcher(
            configuration: .init(maxBatchRows: 64, maxQueueDelay: .zero, maxQueuedRows: 1 << 20, workers: 2),
            metrics: metrics)
        batcher.start()
        defer { batcher.stop() }
        let request = try decoder.decode(TestModel.body(candidates: 1), model: model)
        let answered = Atomic<Int>(0)
        let rounds = 100_000
        let cancellations = (0..<rounds).map { _ in RequestCancellation() }
        let submitted = Atomic<Int>(0)
        // One thread submits, the other cancels each job as soon as it is queued (as a reset after END_STREAM).
        let canceller = Thread {
            for index in 0..<rounds {
                while submitted.load(ordering: .acquiring) <= index {}
                cancellations[index].cancel()
            }
        }
        canceller.start()
        for index in 0..<rounds {
            let job = ScoringJob(
                request: request, cancellation: cancellations[index], arrival: .now, deadline: nil,
                respond: { _ in answered.add(1, ordering: .relaxed) })
            #expect(batcher.submit(job))
            submitted.store(index + 1, ordering: .releasing)
        }
        // The batcher still serves: a fresh job is answered.
        let answers = Answers()
        #expect(batcher.submit(try job(0, candidates: 3, model: model, answers: answers)))
        #expect(answers.done.wait(timeout: .now() + 30) == .success)
        #expect(try answers.results.withLock { $0 }[0]!.get().results.count == 3)
    }

    /// A batch that fills while the worker is deciding to wait is released at once, not after the queue delay.
    @Test func aBatchThatFillsDuringTheQueueDelayLeavesAtOnce() throws {
        let delay = Duration.seconds(1)
        let batcher = MicroBatcher(
            configuration: .init(maxBatchRows: 20, maxQueueDelay: delay, maxQueuedRows: 1000, workers: 1),
            metrics: metrics)
        batcher.start()
        defer { batcher.stop() }
        // The second half arrives 0–100 µs after the first, sweeping the moment the worker, woken by the first,
        // has looked at the queue but not yet gone to sleep: its wakeup was lost there, and the batch waited.
        var generator = SystemRandomNumberGenerator()
        var slowest = Duration.zero
        for _ in 0..<2000 {
            let answers = Answers()
            let first = try job(0, candidates: 10, model: model, answers: answers)
            let second = try job(1, candidates: 10, model: model, answers: answers)
            let start = ContinuousClock.now
            #expect(batcher.submit(first))
            let gap = Duration.microseconds(Int.random(in: 0...100, using: &generator))
            while ContinuousClock.now - start < gap {}
            #expect(batcher.submit(second))
            #expect(answers.done.wait(timeout: .now() + 30) == .success)
            slowest = max(slowest, ContinuousClock.now - start)
        }
        #expect(slowest < delay / 2, "a full batch waited \(slowest) of its \(delay) queue delay")
    }
}

/// The queue's rules, driven without threads: the cases a race produces, made to happen every time.
struct BatchQueueTests {
    let model: ServableModel
    let request: ScoreRequest

    init() throws {
        model = try TestModel.servable()
        request = try ScoreRequestDecoder(maxCandidates: 100, ignoreUnknownFeatures: false)
            .decode(TestModel.body(candidates: 2), model: model)
    }

    func job(_ cancellation: RequestCancellation = .init()) -> ScoringJob {
        ScoringJob(request: request, cancellation: cancellation, arrival: .now, deadline: nil, respond: { _ in })
    }

    /// A client resets its only queued request while a worker forms the batch: the flag reads false when the head
    /// is inspected and true just after. The batch must not come out empty (it once did, and the worker trapped).
    @Test func aHeadCancelledWhileTheBatchFormsStillMakesANonEmptyBatch() {
        var queue = BatchQueue(limits: .init(maxBatchRows: 64, maxQueueDelay: .zero, maxQueuedRows: 1000))
        let flipping = RequestCancellation()
        let appended = queue.append(job(flipping))
        #expect(appended)
        var reads = 0
        var dropped: [(job: ScoringJob, error: ScoringError?)] = []
        let decision = queue.nextBatch(
            now: .now,
            isCancelled: { job in
                guard job.cancellation === flipping else { return job.cancellation.isCancelled }
                reads += 1
                return reads > 1  // cancelled from the second look on
            }, dropped: &dropped)
        guard case .run(let batch) = decision else {
            Issue.record("expected a batch, got \(decision)")
            return
        }
        #expect(batch.jobs.count == 1)
        #expect(reads == 1)
        #expect(queue.count == 0)
    }

    @Test func cancelledAndExpiredJobsAreDroppedAndTheRestBatched() {
        var queue = BatchQueue(limits: .init(maxBatchRows: 5, maxQueueDelay: .zero, maxQueuedRows: 1000))
        let cancelled = RequestCancellation()
        cancelled.cancel()
        let expired = ScoringJob(
            request: request, cancellation: .init(), arrival: .now, deadline: .now - .seconds(1), respond: { _ in })
        for next in [job(cancelled), expired, job(), job(cancelled), job(), job()] {
            let appended = queue.append(next)
            #expect(appended)
        }
        var dropped: [(job: ScoringJob, error: ScoringError?)] = []
        let decision = queue.nextBatch(now: .now, isCancelled: { $0.cancellation.isCancelled }, dropped: &dropped)
        guard case .run(let batch) = decision else {
            Issue.record("expected a batch, got \(decision)")
            return
        }
        #expect(batch.jobs.count == 2)  // 2 rows each, 5 rows at most: the cancelled one between them is dropped
        #expect(dropped.map { $0.error } == [nil, .deadlineExceeded, nil])
        #expect(queue.count == 1)
    }

    @Test func aPartialBatchWaitsForTheQueueDelayUnlessStopped() {
        var queue = BatchQueue(limits: .init(maxBatchRows: 64, maxQueueDelay: .seconds(5), maxQueuedRows: 1000))
        let waiting = job()
        let appended = queue.append(waiting)
        #expect(appended)
        var dropped: [(job: ScoringJob, error: ScoringError?)] = []
        guard case .wait(let until) = queue.nextBatch(now: .now, isCancelled: { _ in false }, dropped: &dropped) else {
            Issue.record("a partial batch should wait")
            return
        }
        #expect(until == waiting.arrival + .seconds(5))
        queue.stop()
        let refused = !queue.append(job())
        #expect(refused)
        guard case .run = queue.nextBatch(now: .now, isCancelled: { _ in false }, dropped: &dropped) else {
            Issue.record("a stopped queue releases what it holds at once")
            return
        }
        guard case .stop = queue.nextBatch(now: .now, isCancelled: { _ in false }, dropped: &dropped) else {
            Issue.record("a stopped, empty queue stops its workers")
            return
        }
    }
}

/// Workers keep one workspace per model; it must never outlive the model it was sized for.
struct WorkspaceCacheTests {
    /// Model objects are all the same size, so the allocator hands a freed model's address to the next one: a cache
    /// keyed by address then served the new model a workspace sized for the old one, and the kernel trapped.
    @Test func aNewModelAtAFreedModelsAddressGetsItsOwnWorkspace() throws {
        let checkpoint = try Checkpoint(contentsOfFile: TestModel.defaultCheckpoint)
        var cache = WorkspaceCache(maxRows: 16)
        var old: ServableModel? = try TestModel.servable(path: TestModel.trainedCheckpoint, version: 2)
        let oldAddress = Unmanaged.passUnretained(old!).toOpaque()
        let stale = ObjectIdentifier(cache.workspace(for: old!))
        // Make the reuse certain: empty this thread's malloc cache for the model's size, so the freed model is the
        // only entry there (glibc's per-thread cache, last in first out), and the next model object takes its place.
        let size = malloc_usable_size(oldAddress)
        let drained = (0..<64).map { _ in malloc(size)! }
        defer { drained.forEach { free($0) } }
        old = nil
        let model = ServableModel(
            name: "funnel-student", version: 1, path: TestModel.defaultCheckpoint, checkpoint: checkpoint,
            scoreOverride: nil)
        try #require(Unmanaged.passUnretained(model).toOpaque() == oldAddress, "the freed address was not reused")
        let workspace = cache.workspace(for: model)
        #expect(ObjectIdentifier(workspace) != stale)
        // And it runs: a stale workspace would trap on the kernel's owner check or write past its buffers.
        workspace.reset()
        _ = workspace.appendRequest(candidates: 4)
        model.network.run(workspace)
        #expect((0..<4).allSatisfy { workspace.prediction(row: $0).ctr > 0 })
    }
}
