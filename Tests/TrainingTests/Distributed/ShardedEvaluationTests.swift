import Testing

@testable import Training

/// `Evaluator` in a world of ranks: each evaluates the rows of its GAUC groups and the figures are reduced, so every
/// rank reports the whole file as one process does.
struct ShardedEvaluationTests {
    /// ESDC with its delay tower (untrained weights: evaluation does not care) on the small world's test file and
    /// truth, by one process and by three ranks, grouped by user and by request.
    @Test(arguments: [Evaluator.Grouping.user, .request])
    func threeRanksReportWhatOneProcessReports(grouping: Evaluator.Grouping) throws {
        let (directory, schema) = TestSupport.smallWorld
        let configuration = TestSupport.smallConfiguration(.esdc, delay: .model)
        let (file, truth) = (directory + "/test.csv", directory + "/test_truth.csv")
        @Sendable func evaluate(_ communicator: any Communicator) throws -> EvaluationReport {
            let trainer = try Trainer(schema: schema, configuration: configuration, threads: 1)
            var evaluator = Evaluator(schema: trainer.schema)
            evaluator.grouping = grouping
            evaluator.chunkRows = 3_000  // several chunks
            evaluator.communicator = communicator
            return try evaluator.evaluate(
                trainer.predictor, file: file, truthFile: truth, delay: trainer.delayPredictor)
        }
        let alone = try evaluate(SingleProcessCommunicator())
        let world = ThreadWorld(size: 3)
        let reports = try world.run { rank in Unchecked(try evaluate(world.communicator(rank: rank))) }.map(\.value)
        for report in reports {
            #expect(report.rows == alone.rows)
            for (task, one) in [(report.ctr, alone.ctr), (report.cvr, alone.cvr), (report.ctcvr, alone.ctcvr)]
                + [(report.entireSpaceCVR!, alone.entireSpaceCVR!)]
            {
                #expect(task.rows == one.rows && task.positives == one.positives)
                #expect(task.auc == one.auc, "histogram counts add exactly")
                #expect(task.aucErrorBound == one.aucErrorBound)
                for (a, b) in [(task.gauc, one.gauc), (task.logLoss, one.logLoss), (task.pcoc, one.pcoc)] {
                    #expect((a == nil) == (b == nil) && abs((a ?? 0) - (b ?? 0)) < 1e-9, "\(a ?? .nan) \(b ?? .nan)")
                }
            }
            #expect(report.delayFit?.conversions == alone.delayFit?.conversions)
            #expect(report.delayFit!.conversions > 0)
            let predicted = zip(report.delayFit!.buckets, alone.delayFit!.buckets).map {
                abs($0.predictedCDF - $1.predictedCDF)
            }
            #expect(predicted.allSatisfy { $0 < 1e-9 })
            #expect(abs(report.entireSpaceCVRCalibration! - alone.entireSpaceCVRCalibration!) < 1e-9)
            #expect(report.curves?.ctr.roc.area == alone.curves?.ctr.roc.area)
        }
        #expect(alone.ctr.gauc != nil && alone.cvr.rows > 100)
    }
}
