import Ranking

/// Scores rows with the ESDC teacher (no dropout: one CVR base pass), to report the teacher next to the
/// student (docs/MODELS.md §8.2) and to see what the student is distilled towards.
public final class TeacherPredictor: ConversionPredictor {
    public enum Output: String, Sendable, CaseIterable {
        /// p_v = σ(s_g + r) on clicked rows (with the privileged post-click features), σ(s_g) elsewhere: the
        /// soft labels q of docs/MODELS.md §5.4.
        case softLabels = "soft-labels"
        /// p_v = σ(s_g) on every row: the teacher's entire-space base CVR, which sees only serving features.
        case base
    }

    let teacher: ESDCTeacher
    let output: Output
    public var batchCapacity: Int { teacher.capacity }

    init(teacher: ESDCTeacher, output: Output) {
        self.teacher = teacher
        self.output = output
    }

    public func predict(_ data: EncodedRows, rows: [Int], ctr: inout [Float], cvr: inout [Float]) {
        var start = 0
        while start < rows.count {
            let count = min(batchCapacity, rows.count - start)
            teacher.forward(data, rows: Array(rows[start..<start + count]), training: false)
            let logits = output == .softLabels ? teacher.logitClick : teacher.logitBase
            for i in 0..<count {
                ctr[start + i] = Float(LogisticMath.sigmoid(teacher.logitCTR[i]))
                cvr[start + i] = Float(LogisticMath.sigmoid(logits[i]))
            }
            start += count
        }
    }
}
