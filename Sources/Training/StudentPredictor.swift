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
