import ArgumentParser
import Foundation
import Ranking

/// Runs the same batch `--iterations` times and nothing else, so a heap profiler can show that scoring a batch
/// allocates nothing after warm-up: scripts/check_allocations.sh runs it under valgrind at two iteration counts
/// and requires identical allocation totals.
struct SteadyStateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steady-state", abstract: "Score one batch repeatedly (for allocation counting).")

    @Argument(help: "A checkpoint file.") var checkpoint: String
    @Option(help: "Candidate rows per batch.") var rows = 64
    @Option(help: "Requests the rows are split into.") var requests = 2
    @Option(help: "Times to run the batch.") var iterations = 10

    func run() throws {
        let network = InferenceNetwork(checkpoint: try Checkpoint(contentsOfFile: checkpoint))
        let workspace = network.makeWorkspace(maxRows: rows, maxRequests: requests)
        for request in 0..<requests {
            let size = rows / requests + (request < rows % requests ? 1 : 0)
            let slots = workspace.appendRequest(candidates: size)!
            let layout = network.shape.layout
            // Missing-row slots (index 0, weight 1): every table lookup and every GEMM runs as usual.
            slots.sharedWeights.update(repeating: 1, count: layout.shared.slotCount)
            slots.itemWeights.update(repeating: 1, count: size * layout.item.slotCount)
        }
        for _ in 0..<iterations { network.run(workspace) }
        print("scored \(iterations) batches of \(rows) rows; last pCTR \(workspace.prediction(row: 0).ctr)")
    }
}
