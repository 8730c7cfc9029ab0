import Ranking

/// Scores rows with the serving path itself: a checkpoint's `InferenceNetwork` (packed GEMM, user-side
/// sharing), one request of one candidate per row, slots copied from the encoded rows. What `evaluate` and
/// the export parity check use, so reported figures are those of the served model.
public final class ServingPredictor: ConversionPredictor {
    public let network: InferenceNetwork
    private let workspace: InferenceWorkspace
    public let batchCapacity = 256

    public init(checkpoint: Checkpoint) {
        network = InferenceNetwork(checkpoint: checkpoint)
        workspace = network.makeWorkspace(maxRows: batchCapacity, maxRequests: batchCapacity)
    }

    public func predict(_ data: EncodedRows, rows: [Int], ctr: inout [Float], cvr: inout [Float]) {
        let layout = network.shape.layout
        precondition(
            data.layout.shared.slotCount == layout.shared.slotCount
                && data.layout.item.slotCount == layout.item.slotCount,
            "rows were encoded with another feature spec")
        var start = 0
        while start < rows.count {
            let count = min(batchCapacity, rows.count - start)
            workspace.reset()
            for i in 0..<count {
                let row = rows[start + i]
                let slots = workspace.appendRequest(candidates: 1)!
                let (sharedIndices, sharedWeights) = data.slots(.shared, row: row)
                let (itemIndices, itemWeights) = data.slots(.item, row: row)
                slots.sharedIndices.update(from: sharedIndices, count: layout.shared.slotCount)
                slots.sharedWeights.update(from: sharedWeights, count: layout.shared.slotCount)
                slots.itemIndices.update(from: itemIndices, count: layout.item.slotCount)
                slots.itemWeights.update(from: itemWeights, count: layout.item.slotCount)
            }
            network.run(workspace)
            for i in 0..<count {
                let prediction = workspace.prediction(row: i)
                ctr[start + i] = prediction.ctr
                cvr[start + i] = prediction.cvr
            }
            start += count
        }
    }
}
