import Ranking

/// Streams a held-out file through a predictor and computes an `EvaluationReport`.
public struct Evaluator {
    public enum Grouping: String, Sendable, CaseIterable {
        case user, request
    }

    public let schema: TrainingSchema
    public var policy: BadRowPolicy = .fail
    public var grouping: Grouping = .user
    public var chunkRows = 65_536

    public init(schema: TrainingSchema) { self.schema = schema }

    /// The figures and curves of `predictor` on `file`; with `delay`, also its delay tower's fit on the file's
    /// mature conversions.
    public func evaluate(
        _ predictor: any ConversionPredictor, file: String, truthFile: String? = nil,
        delay: (any DelayPredictor)? = nil
    ) throws -> EvaluationReport {
        let reader = try TrainingDataReader(path: file, schema: schema, policy: truthFile == nil ? policy : .fail)
        let data = EncodedRows(layout: reader.layout, capacity: chunkRows)
        var ctr: [Float] = [], cvr: [Float] = [], click: [Float] = [], conversion: [Float] = []
        var mature: [Bool] = [], groups: [UInt64] = []
        var chunkCTR = [Float](repeating: 0, count: chunkRows), chunkCVR = [Float](repeating: 0, count: chunkRows)
        let window = schema.delay.attributionWindowHours
        var delayFit = delay.map { DelayFit.Accumulator(delay: $0.delayBuckets) }
        var hazardLogits: [Float] = []
        while try reader.read(into: data) {
            let rows = Array(0..<data.count)
            predictor.predict(data, rows: rows, ctr: &chunkCTR, cvr: &chunkCVR)
            if let delay, let selected = delayFit?.selected(data), !selected.isEmpty {
                hazardLogits = [Float](repeating: 0, count: selected.count * delay.delayBuckets.count)
                delay.predictDelay(data, rows: selected, hazardLogits: &hazardLogits)
                delayFit!.add(data, rows: selected, hazardLogits: hazardLogits)
            }
            for row in rows {
                ctr.append(chunkCTR[row])
                cvr.append(chunkCVR[row])
                click.append(data.click[row])
                conversion.append(data.conversion[row])
                mature.append(data.windowElapsed(row, window: window))
                groups.append(grouping == .user ? data.userKey[row] : data.requestKey[row])
            }
        }
        let clickedMature = ctr.indices.filter { click[$0] == 1 && mature[$0] }
        let final = ctr.indices.filter { click[$0] == 0 || mature[$0] }
        let ctcvr = final.map { ctr[$0] * cvr[$0] }
        let (clickedCVR, clickedLabels) = (clickedMature.map { cvr[$0] }, clickedMature.map { conversion[$0] })
        let finalLabels = final.map { conversion[$0] }
        var report = EvaluationReport(
            file: file, rows: ctr.count, groupedBy: grouping.rawValue,
            ctr: TaskMetrics(probabilities: ctr, labels: click, groups: groups),
            cvr: TaskMetrics(
                probabilities: clickedCVR, labels: clickedLabels, groups: clickedMature.map { groups[$0] }),
            ctcvr: TaskMetrics(probabilities: ctcvr, labels: finalLabels, groups: final.map { groups[$0] }))
        report.curves = EvaluationCurves(
            ctr: TaskCurves(probabilities: ctr, labels: click),
            cvr: TaskCurves(probabilities: clickedCVR, labels: clickedLabels),
            ctcvr: TaskCurves(probabilities: ctcvr, labels: finalLabels))
        report.delayFit = delayFit?.result
        if let truthFile {
            let truth = try SimulationTruth.read(path: truthFile, rows: ctr.count)
            report.entireSpaceCVR = TaskMetrics(probabilities: cvr, labels: truth.wouldBuy)
            report.curves!.entireSpaceCVR = TaskCurves(probabilities: cvr, labels: truth.wouldBuy)
            let trueTotal = truth.trueCVR.reduce(0.0) { $0 + Double($1) }
            report.entireSpaceCVRCalibration = trueTotal > 0 ? cvr.reduce(0.0) { $0 + Double($1) } / trueTotal : nil
        }
        return report
    }
}
