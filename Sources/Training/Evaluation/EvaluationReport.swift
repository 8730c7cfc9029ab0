import FoundationEssentials

/// `funnel-train evaluate`'s result (docs/MODELS.md §8): CTR on all rows, CVR on clicked rows with mature
/// labels, CTCVR on all rows with final labels, and, with a truth file from `simulate`, the entire-space CVR
/// AUC of p_v against the counterfactual "would buy if clicked" draw of every impression.
public struct EvaluationReport: Codable, Sendable, Equatable {
    public var file: String
    public var rows: Int
    public var groupedBy: String
    public var ctr: TaskMetrics
    public var cvr: TaskMetrics
    public var ctcvr: TaskMetrics
    /// p_v against would_buy over all impressions (simulated data only).
    public var entireSpaceCVR: TaskMetrics?
    /// Σ p_v / Σ true pCVR over all impressions (simulated data only): entire-space calibration.
    public var entireSpaceCVRCalibration: Double?
    /// Reliability diagrams, score deciles and ROC curves of the tasks above, on the same rows.
    public var curves: EvaluationCurves?
    /// Observed against predicted delay CDF, when a delay tower was evaluated.
    public var delayFit: DelayFit?

    private enum CodingKeys: String, CodingKey {
        case file, rows, ctr, cvr, ctcvr, curves
        case delayFit = "delay_fit"
        case groupedBy = "gauc_grouped_by"
        case entireSpaceCVR = "entire_space_cvr"
        case entireSpaceCVRCalibration = "entire_space_cvr_calibration"
    }

    public static func load(path: String) throws -> EvaluationReport {
        try JSONDecoder().decode(Self.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The figures stored in a checkpoint header (`ctr_auc`, `cvr_auc`, …).
    public var headline: [String: Double] {
        var figures: [String: Double] = [:]
        for (name, task) in [("ctr", ctr), ("cvr", cvr), ("ctcvr", ctcvr)] {
            if let auc = task.auc { figures[name + "_auc"] = auc }
            if let pcoc = task.pcoc { figures[name + "_pcoc"] = pcoc }
        }
        if let auc = entireSpaceCVR?.auc { figures["entire_space_cvr_auc"] = auc }
        return figures
    }

    public func write(path: String) throws {
        try Data(try json().utf8).write(to: URL(fileURLWithPath: path))
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// A fixed-width table for terminals and docs.
    public var table: String {
        func cell(_ value: Double?, _ digits: Int = 4) -> String {
            guard let value else { return "-".leftPadded(8) }
            return String.fixed(value, digits: digits).leftPadded(8)
        }
        var lines = ["task            rows  positives       AUC      GAUC   logloss      PCOC"]
        func line(_ name: String, _ m: TaskMetrics) {
            lines.append(
                name.rightPadded(10) + String(m.rows).leftPadded(10) + String(m.positives).leftPadded(11) + cell(m.auc)
                    + "  " + cell(m.gauc) + "  " + cell(m.logLoss) + "  " + cell(m.pcoc, 3))
        }
        line("CTR", ctr)
        line("CVR", cvr)
        line("CTCVR", ctcvr)
        if let entireSpaceCVR { line("CVR-ES", entireSpaceCVR) }
        if let entireSpaceCVRCalibration {
            lines.append("entire-space Σp_v / Σ true pCVR = " + String.fixed(entireSpaceCVRCalibration, digits: 3))
        }
        lines.append(
            "(GAUC grouped by \(groupedBy); CVR: clicked rows with mature labels; CVR-ES: all rows vs would_buy)")
        return lines.joined(separator: "\n")
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
    func rightPadded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    /// A fixed-point rendering without Foundation's formatter.
    static func fixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (abs(value) * scale).rounded()
        let whole = Int(rounded / scale)
        let fraction = Int(rounded - Double(whole) * scale)
        let digitsText = String(fraction)
        let padded = String(repeating: "0", count: Swift.max(0, digits - digitsText.count)) + digitsText
        return (value < 0 && rounded > 0 ? "-" : "") + "\(whole)" + (digits > 0 ? "." + padded : "")
    }
}
