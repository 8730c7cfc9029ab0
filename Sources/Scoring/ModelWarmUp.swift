import Ranking

/// Runs a freshly loaded model before it serves: a full-size batch (touching every weight page and the
/// kernel paths) and a check of the fast forward pass against the reference on a few rows, so a model that
/// computes nonsense is rejected rather than swapped in.
enum ModelWarmUp {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func run(_ model: ServableModel, rows: Int) throws {
        let network = model.network
        let layout = network.shape.layout
        let workspace = network.makeWorkspace(maxRows: rows, maxRequests: 1)
        let slots = workspace.appendRequest(candidates: rows)!
        // Every slot at the "missing" row with weight 1, plus a varying value so rows differ.
        slots.sharedWeights.update(repeating: 1, count: layout.shared.slotCount)
        for row in 0..<rows {
            for slot in 0..<layout.item.slotCount {
                slots.itemWeights[row * layout.item.slotCount + slot] = 1 + Float(row % 7) * 0.25
            }
        }
        network.run(workspace)
        for row in [0, rows / 2, rows - 1] {
            let fast = workspace.prediction(row: row)
            let slow = ReferenceNetwork.prediction(of: network.checkpoint, workspace: workspace, row: row)
            for (value, expected) in [(fast.ctr, slow.ctr), (fast.cvr, slow.cvr)] {
                guard value.isFinite, value >= 0, value <= 1, abs(value - expected) <= 1e-4 else {
                    throw Failure(
                        description: "warm-up row \(row): fast kernel gave \(value), reference \(expected)")
                }
            }
        }
    }
}
