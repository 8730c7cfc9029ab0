import Prometheus
import Ranking

/// Runs one batch: copies each request's encoded slots into the worker's workspace, runs the network once,
/// and turns each request's rows into its response.
struct BatchScorer: Sendable {
    let metrics: ScoringMetrics

    func run(_ batch: BatchQueue.Batch, workspace: InferenceWorkspace) {
        let model = batch.model
        let modelMetrics = metrics.model(name: model.name, version: model.version)
        let start = ContinuousClock.now
        workspace.reset()
        var placed: [(job: ScoringJob, firstRow: Int)] = []
        placed.reserveCapacity(batch.jobs.count)
        for job in batch.jobs {
            modelMetrics.queueWait.record(start - job.arrival)
            let request = job.request
            let slots = workspace.appendRequest(candidates: request.candidateCount)!
            request.sharedIndices.withUnsafeBufferPointer {
                slots.sharedIndices.update(from: $0.baseAddress!, count: $0.count)
            }
            request.sharedWeights.withUnsafeBufferPointer {
                slots.sharedWeights.update(from: $0.baseAddress!, count: $0.count)
            }
            request.itemIndices.withUnsafeBufferPointer {
                slots.itemIndices.update(from: $0.baseAddress!, count: $0.count)
            }
            request.itemWeights.withUnsafeBufferPointer {
                slots.itemWeights.update(from: $0.baseAddress!, count: $0.count)
            }
            placed.append((job, slots.request.firstRow))
        }
        model.network.run(workspace)
        modelMetrics.kernelDuration.record(ContinuousClock.now - start)
        modelMetrics.batchRows.record(Double(workspace.rowCount))
        modelMetrics.batchExecutions.increment()
        modelMetrics.inferences.increment(by: Int64(workspace.rowCount))

        for (job, firstRow) in placed {
            let request = job.request
            var results: [ScoreResponse.Result] = []
            results.reserveCapacity(request.candidateCount)
            for index in 0..<request.candidateCount {
                let prediction = workspace.prediction(row: firstRow + index)
                let price = request.prices.isEmpty ? nil : request.prices[index]
                results.append(
                    ScoreResponse.Result(
                        id: request.candidateIDs[index], prediction: prediction,
                        score: model.score.score(ctr: prediction.ctr, cvr: prediction.cvr, price: price)))
            }
            job.respond(.success(ScoreResponse(model: model, results: results, topK: request.topK)))
        }
    }
}
