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
