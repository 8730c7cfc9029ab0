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

/// `naive`'s two independent networks: p_c from the CTR network, p_v from the standalone CVR network.
final class IndependentPredictor: ConversionPredictor {
    let ctrPredictor: StudentPredictor
    let cvrPredictor: StudentPredictor
    var batchCapacity: Int { min(ctrPredictor.batchCapacity, cvrPredictor.batchCapacity) }

    init(ctr: MultiTaskNetwork, cvr: MultiTaskNetwork) {
        ctrPredictor = StudentPredictor(network: ctr)
        cvrPredictor = StudentPredictor(network: cvr)
    }

    func predict(_ data: EncodedRows, rows: [Int], ctr: inout [Float], cvr: inout [Float]) {
        var unused = [Float](repeating: 0, count: rows.count)
        ctrPredictor.predict(data, rows: rows, ctr: &ctr, cvr: &unused)
        cvrPredictor.predict(data, rows: rows, ctr: &unused, cvr: &cvr)
    }
}

/// A student with a separate CTR network (`ctr_network: separate`): p_c from that network, the student's pCTCVR
/// kept, p_v their ratio, combined exactly as the serving kernel does (`Prediction.init(student:separateCTR:)`).
final class SeparateCTRPredictor: ConversionPredictor {
    let studentPredictor: StudentPredictor
    let ctrPredictor: StudentPredictor
    var batchCapacity: Int { min(studentPredictor.batchCapacity, ctrPredictor.batchCapacity) }

    init(student: MultiTaskNetwork, ctr: MultiTaskNetwork) {
        studentPredictor = StudentPredictor(network: student)
        ctrPredictor = StudentPredictor(network: ctr)
    }

    func predict(_ data: EncodedRows, rows: [Int], ctr: inout [Float], cvr: inout [Float]) {
        var separate = [Float](repeating: 0, count: rows.count), unused = separate
        studentPredictor.predict(data, rows: rows, ctr: &ctr, cvr: &cvr)
        ctrPredictor.predict(data, rows: rows, ctr: &separate, cvr: &unused)
        for i in rows.indices {
            let combined = Prediction(student: Prediction(ctr: ctr[i], cvr: cvr[i]), separateCTR: separate[i])
            (ctr[i], cvr[i]) = (combined.ctr, combined.cvr)
        }
    }
}
