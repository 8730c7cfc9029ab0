/// A progress report of a running training job.
public struct TrainingProgress: Sendable {
    public var step: Int
    public var rows: Int
    public var rowsPerSecond: Double
    /// Exponential moving average of the batch loss.
    public var loss: Double
    /// AUC of pCTR and pCTCVR over the most recent training rows (before each row's update).
    public var runningCTRAUC: Double?
    public var runningCTCVRAUC: Double?
    public var terms: [String: Double]

    /// One line for a terminal.
    public var line: String {
        var text = "step \(step)  rows \(rows)  \(Int(rowsPerSecond)) rows/s  loss " + String.fixed(loss, digits: 4)
        if let runningCTRAUC { text += "  ctr-auc " + String.fixed(runningCTRAUC, digits: 4) }
        if let runningCTCVRAUC { text += "  ctcvr-auc " + String.fixed(runningCTCVRAUC, digits: 4) }
        return text
    }
}
