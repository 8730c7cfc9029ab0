/// Anything with a click → conversion delay tower (docs/MODELS.md §4.2): the hazard logits a_k of each row, one
/// per delay bucket. The student (or `naive`'s CVR network) under `--delay model`, or the ESDC teacher.
public protocol DelayPredictor: AnyObject {
    var delayBuckets: DelayBuckets { get }
    /// Writes `delayBuckets.count` hazard logits per row of `rows` (indices into `data`), row after row.
    func predictDelay(_ data: EncodedRows, rows: [Int], hazardLogits: inout [Float])
}

/// The delay tower of a student network trained with `--delay model` (every model but ESDC, whose teacher holds it).
final class NetworkDelayPredictor: DelayPredictor {
    let network: MultiTaskNetwork
    let delayBuckets: DelayBuckets

    init?(network: MultiTaskNetwork, delayBuckets: DelayBuckets) {
        guard network.delayLogits != nil else { return nil }
        self.network = network
        self.delayBuckets = delayBuckets
    }

    func predictDelay(_ data: EncodedRows, rows: [Int], hazardLogits: inout [Float]) {
        let k = delayBuckets.count
        var start = 0
        while start < rows.count {
            let count = min(network.capacity, rows.count - start)
            network.forward(data, rows: Array(rows[start..<start + count]))
            for i in 0..<count * k { hazardLogits[start * k + i] = network.delayLogits![i] }
            start += count
        }
    }
}

/// The ESDC teacher's delay tower (on its CVR bottom output; no dropout at evaluation).
final class TeacherDelayPredictor: DelayPredictor {
    let teacher: ESDCTeacher
    var delayBuckets: DelayBuckets { teacher.schema.delay }

    init?(teacher: ESDCTeacher) {
        guard teacher.delayTrace != nil else { return nil }
        self.teacher = teacher
    }

    func predictDelay(_ data: EncodedRows, rows: [Int], hazardLogits: inout [Float]) {
        let k = delayBuckets.count
        var start = 0
        while start < rows.count {
            let count = min(teacher.capacity, rows.count - start)
            teacher.forward(data, rows: Array(rows[start..<start + count]), training: false)
            for i in 0..<count * k { hazardLogits[start * k + i] = teacher.delayTrace!.output[i] }
            start += count
        }
    }
}
