#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The serving forward pass: the function `ReferenceNetwork` specifies, computed a batch at a time with
/// packed weights and the AVX2/FMA GEMM of `CFunnelKernels`.
///
/// Two restructurings make it fast, both exact up to float rounding:
/// - *Fusion.* All first layers that read the same input (every expert's first layer and the gates of a
///   level) are one matrix, so one GEMM computes them with bias and ReLU fused (gate columns last,
///   without ReLU).
/// - *User-side sharing.* Level 0's input is [shared | item], so x·W = x_shared·W_shared + x_item·W_item.
///   The shared product (plus bias) is computed once per request and becomes the bias of the item GEMM
///   over that request's candidates. A network with cross layers, which mix the blocks, runs them on full rows
///   instead.
///
/// A checkpoint with a separate CTR network (`CheckpointHeader.ctrNetwork`) runs that network too, on the same
/// encoded slots with its own embeddings, computing only what its CTR tower needs; the outputs then combine as
/// `Prediction.init(student:separateCTR:)`.
///
/// Immutable after init and safe to share between threads; each thread runs batches in its own
/// `InferenceWorkspace`.
public final class InferenceNetwork: Sendable {
    struct Dense: Sendable {
        let matrix: PackedMatrix
        let bias: AlignedFloats
    }

    /// First layers of every consumer of one input (level 0: the network input; later: a group's output).
    struct FusedLayer: Sendable {
        let source: ExpertGroup?  // nil: the network input
        let width: Int
        let reluColumns: Int
        let weights: PackedMatrix
        /// Level 0 only: the shared-block rows and the item-block rows of `weights`.
        let sharedWeights: PackedMatrix?
        let itemWeights: PackedMatrix?
        let bias: AlignedFloats
    }

    struct Expert: Sendable {
        let group: ExpertGroup
        let fusedIndex: Int
        let column: Int
        /// Layers after the first.
        let tail: [Dense]
    }

    struct Gate: Sendable {
        let fusedIndex: Int
        let column: Int
        /// Indices into the level's `experts`, in softmax order.
        let experts: [Int]
    }

    struct Level: Sendable {
        let fused: [FusedLayer]
        let experts: [Expert]
        /// How each group with an output gets it: its gate, or its single expert passed through.
        let outputs: [ExpertGroup: Gate]
    }

    struct Tower: Sendable {
        let task: PredictionTask
        let layers: [Dense]
        let logit: Dense
    }

    public let checkpoint: Checkpoint
    /// The student's shape (this network's, for a separate CTR network).
    public let shape: NetworkShape
    /// The checkpoint's separate CTR network, or nil.
    public let ctrNetwork: InferenceNetwork?
    public let lookup: EmbeddingLookup
    /// The first-order part and its tables' lookup, when the network has one.
    let wide: (part: WidePart, lookup: EmbeddingLookup)?
    /// DCN-v2 cross layers, applied to full input rows before level 0.
    let crossLayers: [Dense]
    let levels: [Level]
    let towers: [Tower]
    let expertWidth: Int

    public convenience init(checkpoint: Checkpoint) {
        self.init(
            weights: checkpoint.student, tasks: PredictionTask.allCases,
            ctrNetwork: checkpoint.ctrNetwork.map { InferenceNetwork(weights: $0, tasks: [.ctr], ctrNetwork: nil) })
    }

    /// One network of a checkpoint, computing the towers of `tasks` only.
    private init(weights: NetworkWeights, tasks: [PredictionTask], ctrNetwork: InferenceNetwork?) {
        checkpoint = weights.checkpoint
        let shape = weights.shape
        self.shape = shape
        self.ctrNetwork = ctrNetwork
        lookup = EmbeddingLookup(weights: weights)
        if shape.network.wide {
            let part = WidePart(features: shape.features)
            wide = (part, EmbeddingLookup(weights: weights, layout: part.layout, table: NetworkShape.wide))
        } else {
            wide = nil
        }
        expertWidth = shape.network.expertLayers.last!
        crossLayers = (0..<shape.network.crossLayers).map { Self.dense(NetworkShape.cross(layer: $0), weights) }
        let outputs = Self.neededOutputs(shape, tasks: tasks)
        levels = (0..<shape.network.levels).map { Self.makeLevel($0, weights, outputs: outputs) }
        towers = tasks.map { task in
            Tower(
                task: task,
                layers: shape.network.towerLayers.indices.map {
                    Self.dense(NetworkShape.tower(task, layer: $0), weights)
                },
                logit: Self.dense(NetworkShape.towerLogit(task), weights))
        }
    }

    /// A workspace for batches of up to `maxRows` candidates from up to `maxRequests` requests.
    public func makeWorkspace(maxRows: Int, maxRequests: Int) -> InferenceWorkspace {
        InferenceWorkspace(network: self, maxRows: maxRows, maxRequests: maxRequests)
    }

    /// Embeds the workspace's encoded slots and runs the network; results land in `workspace.ctr`/`.cvr`.
    /// `sharingUserSide: false` computes every row's full input product (same result, more work).
    public func run(_ workspace: InferenceWorkspace, sharingUserSide: Bool = true) {
        embed(workspace)
        forward(workspace, sharingUserSide: sharingUserSide)
    }

    /// Encoded slots → embedded input rows (`sharedInput`, `itemInput`), for the separate CTR network too.
    public func embed(_ workspace: InferenceWorkspace) {
        precondition(workspace.owner == ObjectIdentifier(self), "workspace belongs to another network")
        if let ctrNetwork, let ctrWorkspace = workspace.ctrWorkspace {
            ctrWorkspace.takeBatch(of: workspace)
            ctrNetwork.embed(ctrWorkspace)
        }
        let layout = shape.layout
        for request in workspace.requests {
            let shared = request.sharedRow
            lookup.gather(
                .shared, indices: workspace.sharedIndices + shared * layout.shared.slotCount,
                weights: workspace.sharedWeights.pointer + shared * layout.shared.slotCount,
                into: workspace.sharedInput.pointer + shared * layout.shared.width)
        }
        for row in 0..<workspace.rowCount {
            lookup.gather(
                .item, indices: workspace.itemIndices + row * layout.item.slotCount,
                weights: workspace.itemWeights.pointer + row * layout.item.slotCount,
                into: workspace.itemInput.pointer + row * layout.item.width)
        }
        guard let (part, wideLookup) = wide else { return }
        let shared = part.layout.shared, item = part.layout.item
        for request in workspace.requests {
            wideLookup.gather(
                .shared, indices: workspace.sharedIndices + request.sharedRow * shared.slotCount,
                weights: workspace.sharedWeights.pointer + request.sharedRow * shared.slotCount,
                into: workspace.sharedWide.pointer + request.sharedRow * shared.width)
        }
        for row in 0..<workspace.rowCount {
            wideLookup.gather(
                .item, indices: workspace.itemIndices + row * item.slotCount,
                weights: workspace.itemWeights.pointer + row * item.slotCount,
                into: workspace.itemWide.pointer + row * item.width)
        }
    }

    /// Embedded inputs → predictions.
    public func forward(_ workspace: InferenceWorkspace, sharingUserSide: Bool = true) {
        precondition(workspace.owner == ObjectIdentifier(self), "workspace belongs to another network")
        let rows = workspace.rowCount
        guard rows > 0 else { return }
        forwardOwn(workspace, sharingUserSide: sharingUserSide)
        guard let ctrNetwork, let ctrWorkspace = workspace.ctrWorkspace else { return }
        ctrNetwork.forwardOwn(ctrWorkspace, sharingUserSide: sharingUserSide)
        let ctr = workspace.ctr.pointer, cvr = workspace.cvr.pointer, separate = ctrWorkspace.ctr.pointer
        for r in 0..<rows {
            let combined = Prediction(student: Prediction(ctr: ctr[r], cvr: cvr[r]), separateCTR: separate[r])
            ctr[r] = combined.ctr
            cvr[r] = combined.cvr
        }
    }

    /// This network's own forward pass (the student's outputs, or the separate CTR network's pCTR).
    private func forwardOwn(_ workspace: InferenceWorkspace, sharingUserSide: Bool) {
        let rows = workspace.rowCount
        firstLayer(workspace, sharingUserSide: sharingUserSide)
        for (index, level) in levels.enumerated() {
            if index > 0 {
                for (f, fused) in level.fused.enumerated() {
                    let source = workspace.groupOutputs[index - 1][Self.groupIndex(fused.source!)]!
                    fused.weights.multiply(
                        source.pointer, rows: rows, stride: expertWidth, bias: fused.bias.pointer,
                        into: workspace.fused[index][f].pointer, stride: fused.width, reluColumns: fused.reluColumns)
                }
            }
            runExperts(level, index, workspace)
            mixGates(level, index, workspace)
        }
        runTowers(workspace)
    }

    /// Level 0's fused layer, with or without user-side sharing.
    private func firstLayer(_ workspace: InferenceWorkspace, sharingUserSide: Bool) {
        let fused = levels[0].fused[0]
        let output = workspace.fused[0][0].pointer
        let layout = shape.layout
        if sharingUserSide, crossLayers.isEmpty, let sharedWeights = fused.sharedWeights,
            let itemWeights = fused.itemWeights
        {
            for request in workspace.requests {
                let bias = workspace.sharedPreactivation.pointer + request.sharedRow * fused.width
                sharedWeights.multiply(
                    workspace.sharedInput.pointer + request.sharedRow * layout.shared.width, rows: 1,
                    stride: layout.shared.width, bias: fused.bias.pointer, into: bias, stride: fused.width,
                    reluColumns: 0)
                itemWeights.multiply(
                    workspace.itemInput.pointer + request.firstRow * layout.item.width, rows: request.rowCount,
                    stride: layout.item.width, bias: bias, into: output + request.firstRow * fused.width,
                    stride: fused.width, reluColumns: fused.reluColumns)
            }
            return
        }
        let width = layout.servingWidth
        for request in workspace.requests {
            let shared = workspace.sharedInput.pointer + request.sharedRow * layout.shared.width
            for row in request.firstRow..<request.firstRow + request.rowCount {
                let full = workspace.fullInput.pointer + row * width
                full.update(from: shared, count: layout.shared.width)
                (full + layout.shared.width).update(
                    from: workspace.itemInput.pointer + row * layout.item.width, count: layout.item.width)
            }
        }
        fused.weights.multiply(
            cross(workspace), rows: workspace.rowCount, stride: width, bias: fused.bias.pointer,
            into: output, stride: fused.width, reluColumns: fused.reluColumns)
    }

    /// The cross layers over `fullInput` (x₀): x_{l+1} = x₀ ⊙ (x_l·W_l + b_l) + x_l, alternating between the
    /// workspace's two cross buffers. Returns the last x (x₀ itself without cross layers).
    private func cross(_ workspace: InferenceWorkspace) -> UnsafeMutablePointer<Float> {
        let x0 = workspace.fullInput.pointer
        let count = workspace.rowCount * shape.layout.servingWidth
        var x = x0
        for (l, layer) in crossLayers.enumerated() {
            let z = workspace.crossed[l % 2].pointer
            layer.matrix.multiply(
                x, rows: workspace.rowCount, stride: layer.matrix.columns, bias: layer.bias.pointer, into: z,
                stride: layer.matrix.columns, reluColumns: 0)
            for i in 0..<count { z[i] = x0[i] * z[i] + x[i] }
            x = z
        }
        return x
    }

    private func runExperts(_ level: Level, _ index: Int, _ workspace: InferenceWorkspace) {
        let rows = workspace.rowCount
        for (e, expert) in level.experts.enumerated() {
            var input = workspace.fused[index][expert.fusedIndex].pointer + expert.column
            var stride = level.fused[expert.fusedIndex].width
            for (t, layer) in expert.tail.enumerated() {
                let output = workspace.expertTails[index][e][t].pointer
                layer.matrix.multiply(
                    input, rows: rows, stride: stride, bias: layer.bias.pointer, into: output,
                    stride: layer.matrix.columns, reluColumns: layer.matrix.columns)
                input = output
                stride = layer.matrix.columns
            }
        }
    }

    /// Where expert `e`'s output rows live: its last tail buffer, or its columns of the fused output.
    private func expertOutput(_ level: Level, _ index: Int, _ e: Int, _ workspace: InferenceWorkspace)
        -> (pointer: UnsafeMutablePointer<Float>, stride: Int)
    {
        let expert = level.experts[e]
        if let last = workspace.expertTails[index][e].last { return (last.pointer, expertWidth) }
        return (workspace.fused[index][expert.fusedIndex].pointer + expert.column, level.fused[expert.fusedIndex].width)
    }

    /// output_g[r] = Σ_i softmax(gate logits[r])_i · expert_i[r], or the single expert's rows.
    private func mixGates(_ level: Level, _ index: Int, _ workspace: InferenceWorkspace) {
        let rows = workspace.rowCount
        let width = expertWidth
        for (g, group) in ExpertGroup.all.enumerated() {
            guard let gate = level.outputs[group], let output = workspace.groupOutputs[index][g]?.pointer else {
                continue
            }
            let count = gate.experts.count
            if count == 1 {
                let (source, stride) = expertOutput(level, index, gate.experts[0], workspace)
                for r in 0..<rows { (output + r * width).update(from: source + r * stride, count: width) }
                continue
            }
            let logits = workspace.fused[index][gate.fusedIndex].pointer + gate.column
            let logitStride = level.fused[gate.fusedIndex].width
            withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { weights in
                for r in 0..<rows {
                    let row = logits + r * logitStride
                    var top = row[0]
                    for i in 1..<count { top = max(top, row[i]) }
                    var total: Float = 0
                    for i in 0..<count {
                        weights[i] = exp(row[i] - top)
                        total += weights[i]
                    }
                    let out = output + r * width
                    out.update(repeating: 0, count: width)
                    for i in 0..<count {
                        let w = weights[i] / total
                        let (source, stride) = expertOutput(level, index, gate.experts[i], workspace)
                        let expertRow = source + r * stride
                        for j in 0..<width { out[j] += w * expertRow[j] }
                    }
                }
            }
        }
    }

    private func runTowers(_ workspace: InferenceWorkspace) {
        let rows = workspace.rowCount
        for (t, tower) in towers.enumerated() {
            let task = tower.task
            var input = workspace.groupOutputs[levels.count - 1][Self.groupIndex(.task(task))]!.pointer
            var stride = expertWidth
            for (l, layer) in tower.layers.enumerated() {
                let output = workspace.towers[t][l].pointer
                layer.matrix.multiply(
                    input, rows: rows, stride: stride, bias: layer.bias.pointer, into: output,
                    stride: layer.matrix.columns, reluColumns: layer.matrix.columns)
                input = output
                stride = layer.matrix.columns
            }
            let logits = workspace.logits[t].pointer
            tower.logit.matrix.multiply(
                input, rows: rows, stride: stride, bias: tower.logit.bias.pointer, into: logits, stride: 1,
                reluColumns: 0)
            if let part = wide?.part { addWide(part, task, logits, workspace) }
            let output = task == .ctr ? workspace.ctr.pointer : workspace.cvr.pointer
            for r in 0..<rows { output[r] = sigmoid(logits[r]) }
        }
    }

    /// logit += the wide part's terms: the request's shared-block sum (once per request) and the row's item-block sum.
    private func addWide(
        _ part: WidePart, _ task: PredictionTask, _ logits: UnsafeMutablePointer<Float>, _ workspace: InferenceWorkspace
    ) {
        let shared = part.layout.shared.width, item = part.layout.item.width
        for request in workspace.requests {
            let user = part.sum(
                workspace.sharedWide.pointer + request.sharedRow * shared, columns: part.sharedColumns, task: task)
            for row in request.firstRow..<request.firstRow + request.rowCount {
                let candidate = workspace.itemWide.pointer + row * item
                logits[row] += user + part.sum(candidate, columns: part.itemColumns, task: task)
            }
        }
    }

    static func groupIndex(_ group: ExpertGroup) -> Int { ExpertGroup.all.firstIndex(of: group)! }
}
