import Foundation
import Prometheus
import Ranking
import HTTP2
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
        let results = Mutex<[Int: Result<ScoreResponse, ScoringError>]>([:])
        let done = DispatchGroup()
    }

    func job(
        _ index: Int, candidates: Int, model: ServableModel, answers: Answers, cancellation: RequestCancellation = .init(),
        deadline: ContinuousClock.Instant? = nil
    ) throws -> ScoringJob {
        answers.done.enter()
        return ScoringJob(
            request: try decoder.decode(TestModel.body(candidates: candidates), model: model), cancellation: cancellation,
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
            #expect(batcher.submit(try job(index, candidates: 1 + index % 40, model: index % 3 == 0 ? other : model, answers: answers)))
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
        #expect(exposition.contains("funnel_inferences_total \((0..<60).reduce(0) { $0 + 1 + $1 % 40 })"))
        #expect(exposition.contains(#"funnel_batch_rows_bucket{le="64.0"}"#))
        #expect(!exposition.contains(#"funnel_batch_rows_bucket{le="+Inf"} 0"#))
    }

    @Test func cancelledJobsAreDroppedAndExpiredOnesAnswered504() throws {
        let batcher = MicroBatcher(
            configuration: .init(maxBatchRows: 64, maxQueueDelay: .zero, maxQueuedRows: 1000, workers: 1), metrics: metrics)
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
            configuration: .init(maxBatchRows: 64, maxQueueDelay: .zero, maxQueuedRows: 64, workers: 1), metrics: metrics)
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
        #expect(metrics.registry.emitToString().contains("funnel_batch_executions_total 1"))
    }

    @Test func topKSortsByScore() throws {
        let answers = Answers()
        let batcher = MicroBatcher(
            configuration: .init(maxBatchRows: 64, maxQueueDelay: .zero, maxQueuedRows: 1000, workers: 1), metrics: metrics)
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
}
