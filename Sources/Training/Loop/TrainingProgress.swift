/// A progress report of a running training job.
public struct TrainingProgress: Sendable {
    public var step: Int
    /// Rows trained on since the start (of every run, when resumed).
    public var rows: Int
    /// Rows trained on and planned in this run (≈: rows held out for calibration are known only while reading).
    public var rowsThisRun: Int
    public var plannedRowsThisRun: Int
    /// Throughput of this run.
    public var rowsPerSecond: Double
    /// Exponential moving average of the batch loss.
    public var loss: Double
    /// AUC of pCTR and pCTCVR over the most recent training rows (before each row's update).
    public var runningCTRAUC: Double?
    public var runningCTCVRAUC: Double?
    public var terms: [String: Double]

    /// Seconds left in this run's passes at the current throughput (nil before any throughput is known).
    public var secondsLeft: Double? {
        guard rowsPerSecond > 0 else { return nil }
        return Double(max(0, plannedRowsThisRun - rowsThisRun)) / rowsPerSecond
    }

    /// The point the training history keeps.
    var historyPoint: TrainingHistory.Point {
        TrainingHistory.Point(
            step: step, rows: rows, loss: loss, runningCTRAUC: runningCTRAUC, runningCTCVRAUC: runningCTCVRAUC)
    }

    /// One line for a terminal.
    public var line: String {
        var text = "step \(step)  rows \(rowsThisRun)/\(plannedRowsThisRun)  \(Int(rowsPerSecond)) rows/s"
        if let secondsLeft { text += "  ETA " + Self.clock(secondsLeft) }
        text += "  loss " + String.fixed(loss, digits: 4)
        if let runningCTRAUC { text += "  ctr-auc " + String.fixed(runningCTRAUC, digits: 4) }
        if let runningCTCVRAUC { text += "  ctcvr-auc " + String.fixed(runningCTCVRAUC, digits: 4) }
        return text
    }

    /// m:ss, or h:mm:ss from an hour on.
    static func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.up))
        let (hours, minutes, rest) = (total / 3600, total / 60 % 60, total % 60)
        let mmss = (hours > 0 && minutes < 10 ? "0" : "") + "\(minutes):" + (rest < 10 ? "0" : "") + "\(rest)"
        return hours > 0 ? "\(hours):" + mmss : mmss
    }
}
