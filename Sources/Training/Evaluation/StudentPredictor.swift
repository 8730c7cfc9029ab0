import Ranking

/// Scores rows with the trainer's own student forward pass (no dropout in the student).
final class StudentPredictor: ConversionPredictor {
    let network: MultiTaskNetwork
    var batchCapacity: Int { network.capacity }

    init(network: MultiTaskNetwork) { self.network = network }

    func predict(_ data: EncodedRows, rows: [Int], ctr: inout [Float], cvr: inout [Float]) {
        var start = 0
        while start < rows.count {
            let count = min(batchCapacity, rows.count - start)
            network.forward(data, rows: Array(rows[start..<start + count]))
            for i in 0..<count {
                ctr[start + i] = sigmoid(network.logits(.ctr)[i])
                cvr[start + i] = sigmoid(network.logits(.cvr)[i])
            }
            start += count
        }
    }
}

/// Two networks' predictions of each row combined into one: `naive`'s independent networks (p_c from the CTR network,
/// p_v from the standalone CVR network), or a student with its separate CTR network (combined exactly as the serving
/// kernel does, `Prediction.init(student:separateCTR:)`).
final class PairPredictor: ConversionPredictor {
    let first: StudentPredictor
    let second: StudentPredictor
    let combine: (_ first: Prediction, _ second: Prediction) -> Prediction
    var batchCapacity: Int { min(first.batchCapacity, second.batchCapacity) }

    init(
        _ first: MultiTaskNetwork, _ second: MultiTaskNetwork,
        combine: @escaping (_ first: Prediction, _ second: Prediction) -> Prediction
    ) {
        self.first = StudentPredictor(network: first)
        self.second = StudentPredictor(network: second)
        self.combine = combine
    }

    /// `naive`: p_c from `ctr`, p_v from `cvr`.
    static func independent(ctr: MultiTaskNetwork, cvr: MultiTaskNetwork) -> PairPredictor {
        PairPredictor(ctr, cvr) { Prediction(ctr: $0.ctr, cvr: $1.cvr) }
    }

    /// `ctr_network: separate`: p_c from `ctr`, the student's pCTCVR kept, p_v their ratio.
    static func separateCTR(student: MultiTaskNetwork, ctr: MultiTaskNetwork) -> PairPredictor {
        PairPredictor(student, ctr) { Prediction(student: $0, separateCTR: $1.ctr) }
    }

    func predict(_ data: EncodedRows, rows: [Int], ctr: inout [Float], cvr: inout [Float]) {
        var secondCTR = [Float](repeating: 0, count: rows.count), secondCVR = secondCTR
        first.predict(data, rows: rows, ctr: &ctr, cvr: &cvr)
        second.predict(data, rows: rows, ctr: &secondCTR, cvr: &secondCVR)
        for i in rows.indices {
            let combined = combine(
                Prediction(ctr: ctr[i], cvr: cvr[i]), Prediction(ctr: secondCTR[i], cvr: secondCVR[i]))
            (ctr[i], cvr[i]) = (combined.ctr, combined.cvr)
        }
    }
}
