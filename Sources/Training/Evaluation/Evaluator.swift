import Ranking

/// Streams a held-out file through a predictor and computes an `EvaluationReport` in memory that does not grow with
/// the file (docs/TRAINING.md, "Streaming evaluation"): per task a `TaskAccumulator` (score histogram, running sums,
/// GAUC spilled to disk past `groupMemoryRows`), and the truth file read beside the data.
public struct Evaluator {
    public enum Grouping: String, Sendable, CaseIterable {
        case user, request
    }

    public let schema: TrainingSchema
    public var policy: BadRowPolicy = .fail
    public var grouping: Grouping = .user
    public var chunkRows = 65_536
    /// Rows per task whose GAUC records stay in memory before they are spilled to temporary files.
    public var groupMemoryRows = 1 << 18

    public init(schema: TrainingSchema) { self.schema = schema }

    /// The columns of a predictions file: the row's labels, whether its conversion label is final (not clicked, or
    /// the attribution window elapsed: the rows CTCVR is scored on), and pCTR, pCVR and pCTCVR = pCTR × pCVR.
    public static let predictionsHeader = "click,conversion,label_final,p_ctr,p_cvr,p_ctcvr"

    /// The figures and curves of `predictor` on `file`; with `delay`, also its delay tower's fit on the file's
    /// mature conversions; with `predictionsFile`, every row's labels and predictions as CSV, in file order
    /// (`Evaluator.predictionsHeader`). AUCs are within each task's `ScoreHistogram.aucErrorBound` of the exact rank
    /// AUC; the other figures are exact.
    public func evaluate(
        _ predictor: any ConversionPredictor, file: String, truthFile: String? = nil,
        delay: (any DelayPredictor)? = nil, predictionsFile: String? = nil
    ) throws -> EvaluationReport {
        let reader = try TrainingDataReader(path: file, schema: schema, policy: truthFile == nil ? policy : .fail)
        let truth = try truthFile.map { try SimulationTruthReader(path: $0) }
        let data = EncodedRows(layout: reader.layout, capacity: chunkRows)
        var ctr = TaskAccumulator(grouped: true, groupMemoryRows: groupMemoryRows)
        var cvr = TaskAccumulator(grouped: true, groupMemoryRows: groupMemoryRows)
        var ctcvr = TaskAccumulator(grouped: true, groupMemoryRows: groupMemoryRows)
        var entireSpaceCVR = truth.map { _ in TaskAccumulator(grouped: false) }
        var predictedCVRSum = 0.0, trueCVRSum = 0.0
        var chunkCTR = [Float](repeating: 0, count: chunkRows), chunkCVR = [Float](repeating: 0, count: chunkRows)
        let window = schema.delay.attributionWindowHours
        var delayFit = delay.map { DelayFit.Accumulator(delay: $0.delayBuckets) }
        var hazardLogits: [Float] = []
        let predictions = try predictionsFile.map { try TextFileWriter(path: $0) }
        predictions?.line(Self.predictionsHeader)
        var rowCount = 0
        while try reader.read(into: data) {
            let rows = Array(0..<data.count)
            predictor.predict(data, rows: rows, ctr: &chunkCTR, cvr: &chunkCVR)
            if let delay, let selected = delayFit?.selected(data), !selected.isEmpty {
                hazardLogits = [Float](repeating: 0, count: selected.count * delay.delayBuckets.count)
                delay.predictDelay(data, rows: selected, hazardLogits: &hazardLogits)
                delayFit!.add(data, rows: selected, hazardLogits: hazardLogits)
            }
            for row in rows {
                let (pc, pv) = (chunkCTR[row], chunkCVR[row])
                let (click, conversion) = (data.click[row], data.conversion[row])
                let group = grouping == .user ? data.userKey[row] : data.requestKey[row]
                let mature = data.windowElapsed(row, window: window)
                try ctr.add(pc, label: click, group: group)
                // CVR: clicked rows with mature labels; CTCVR: rows whose label is final.
                if click == 1 && mature { try cvr.add(pv, label: conversion, group: group) }
                if click == 0 || mature { try ctcvr.add(pc * pv, label: conversion, group: group) }
                let final = click == 0 || mature ? 1 : 0
                predictions?.line("\(Int(click)),\(Int(conversion)),\(final),\(pc),\(pv),\(pc * pv)")
                if let truth, let truthRow = try truth.next() {  // a short truth file fails after the loop
                    try entireSpaceCVR?.add(pv, label: truthRow.wouldBuy)
                    predictedCVRSum += Double(pv)
                    trueCVRSum += Double(truthRow.trueCVR)
                }
            }
            rowCount += data.count
        }
        if let truth, truth.rows != rowCount { throw truth.tooShort(dataRows: rowCount) }
        try predictions?.close()
        var report = EvaluationReport(
            file: file, rows: rowCount, groupedBy: grouping.rawValue, ctr: try ctr.metrics(), cvr: try cvr.metrics(),
            ctcvr: try ctcvr.metrics())
        report.curves = EvaluationCurves(ctr: ctr.curves, cvr: cvr.curves, ctcvr: ctcvr.curves)
        report.delayFit = delayFit?.result
        if var entireSpaceCVR {
            report.entireSpaceCVR = try entireSpaceCVR.metrics()
            report.curves!.entireSpaceCVR = entireSpaceCVR.curves
            report.entireSpaceCVRCalibration = trueCVRSum > 0 ? predictedCVRSum / trueCVRSum : nil
        }
        return report
    }
}
