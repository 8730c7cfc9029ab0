import Ranking

/// The student: exactly the function `NetworkShape` describes and `InferenceNetwork` serves — embeddings of
/// the shared and item blocks → cross layers (optional) → bottom → a CTR and a CVR tower → logits — with a
/// hand-written backward.
/// Optional auxiliary heads read the CVR task's bottom output for training only (the delay tower); they are
/// never exported. Buffers are allocated once for `capacity` rows.
final class MultiTaskNetwork {
    let shape: NetworkShape
    let capacity: Int
    let embeddings: EmbeddingBags
    /// The first-order part (`WidePart`): its tables' gathered rows are summed into each task's logit.
    let wide: (part: WidePart, bags: EmbeddingBags, rows: AlignedFloats, gradient: AlignedFloats)?
    /// DCN-v2 cross layers between the embeddings and the bottom (`NetworkSpec.crossLayers` > 0).
    let cross: CrossNetwork?
    let bottom: Bottom
    /// [ctr, cvr]: towerLayers with ReLU, then one logit.
    let towers: [MLP]
    /// Training-only heads on the CVR task output (e.g. delay hazards), keyed by name.
    let delayHead: MLP?

    let bottomTrace: Bottom.Trace
    let towerTraces: [MLP.Trace]
    let delayTrace: MLP.Trace?
    /// Embedded input x [capacity × servingWidth] and ∂L/∂x.
    let input: AlignedFloats
    let inputGradient: AlignedFloats
    private(set) var rows = 0
    private(set) var batch: [Int] = []
    var random: SplitMix64
    private let scratch: ScratchSpace
    /// Threads of this network's matrix products (set by its trainer).
    var threads: Int {
        get { scratch.threads }
        set { scratch.threads = newValue }
    }

    init(shape: NetworkShape, capacity: Int, delayBuckets: Int? = nil, delayHidden: Int = 32, seed: UInt64) {
        self.shape = shape
        self.capacity = capacity
        var random = SplitMix64(seed: seed)
        let scratch = ScratchSpace()
        self.scratch = scratch
        embeddings = EmbeddingBags(layout: shape.layout, blocks: [.shared, .item], random: &random)
        if shape.network.wide {
            let part = WidePart(features: shape.features)
            let bags = EmbeddingBags(
                layout: part.layout, blocks: [.shared, .item], tableName: NetworkShape.wide, random: &random)
            let size = capacity * part.layout.servingWidth
            wide = (part, bags, AlignedFloats(count: size), AlignedFloats(count: size))
        } else {
            wide = nil
        }
        bottom = Bottom(shape: shape, inputWidth: shape.layout.servingWidth, scratch: scratch, random: &random)
        let expertWidth = shape.network.expertLayers.last!
        let towerLayers = shape.network.towerLayers
        towers = PredictionTask.allCases.map { task in
            MLP(
                inputs: expertWidth, widths: towerLayers + [1],
                names: towerLayers.indices.map { NetworkShape.tower(task, layer: $0) } + [
                    NetworkShape.towerLogit(task)
                ],
                reluOnLast: false, scratch: scratch, random: &random)
        }
        delayHead = delayBuckets.map { buckets in
            MLP(
                inputs: expertWidth, widths: [delayHidden, buckets], names: ["aux.delay.layer0", "aux.delay.logit"],
                reluOnLast: false, scratch: scratch, random: &random)
        }
        // Drawn last, so a network without cross layers gets the same initial weights as before they existed.
        let crossLayers = shape.network.crossLayers
        cross =
            crossLayers == 0
            ? nil
            : CrossNetwork(
                width: shape.layout.servingWidth, layers: crossLayers, capacity: capacity, scratch: scratch,
                random: &random)
        bottomTrace = bottom.makeTrace(capacity: capacity)
        towerTraces = towers.map { $0.makeTrace(capacity: capacity) }
        delayTrace = delayHead?.makeTrace(capacity: capacity)
        input = AlignedFloats(count: capacity * shape.layout.servingWidth)
        inputGradient = AlignedFloats(count: capacity * shape.layout.servingWidth)
        self.random = random
    }

    var denseParameters: [Parameter] {
        (cross?.parameters ?? []) + bottom.parameters + towers.flatMap(\.parameters) + (delayHead?.parameters ?? [])
    }
    var tables: [EmbeddingTable] { embeddings.tables + (wide?.bags.tables ?? []) }

    /// Repacks every layer after an optimizer step.
    func refresh() {
        cross?.refresh()
        bottom.refresh()
        towers.forEach { $0.refresh() }
        delayHead?.refresh()
    }

    /// Logits of the last forward pass [rows].
    func logits(_ task: PredictionTask) -> UnsafeMutablePointer<Float> { towerTraces[task.rawValue].output }
    /// Delay hazard logits [rows × K].
    var delayLogits: UnsafeMutablePointer<Float>? { delayTrace?.output }

    // ---------------------------------------------------------------------------------------------
    // forward: slots → x → bottom → towers (and the auxiliary delay head).

    func forward(_ data: EncodedRows, rows batch: [Int]) {
        precondition(batch.count <= capacity)
        self.batch = batch
        rows = batch.count
        let width = shape.layout.servingWidth
        embeddings.forward(data, rows: batch, into: input.pointer)
        cross?.forward(input.pointer, rows: rows)
        bottom.forward(cross?.output ?? input.pointer, ldx: width, rows: rows, trace: bottomTrace, random: &random)
        for task in PredictionTask.allCases {
            towers[task.rawValue].forward(
                bottomTrace.output(task), ldInput: bottom.expertWidth, rows: rows, trace: towerTraces[task.rawValue],
                training: true, random: &random)
        }
        if let wide {
            // The towers' last layer is linear, so adding to its output changes nothing their backward reads.
            wide.bags.forward(data, rows: batch, into: wide.rows.pointer)
            let width = wide.part.layout.servingWidth, shared = wide.part.layout.shared.width
            for task in PredictionTask.allCases {
                let logits = self.logits(task)
                for r in 0..<rows {
                    let row = wide.rows.pointer + r * width
                    logits[r] +=
                        wide.part.sum(row, columns: wide.part.sharedColumns, task: task)
                        + wide.part.sum(row + shared, columns: wide.part.itemColumns, task: task)
                }
            }
        }
        if let delayHead, let delayTrace {
            delayHead.forward(
                bottomTrace.output(.cvr), ldInput: bottom.expertWidth, rows: rows, trace: delayTrace, training: true,
                random: &random)
        }
    }

    // backward: from ∂L/∂logits (written into `logitGradient(_:)`, `delayLogitGradient`) to every parameter.

    func logitGradient(_ task: PredictionTask) -> UnsafeMutablePointer<Float> {
        towerTraces[task.rawValue].outputGradient
    }
    var delayLogitGradient: UnsafeMutablePointer<Float>? { delayTrace?.outputGradient }

    func backward(_ data: EncodedRows) {
        for task in PredictionTask.allCases {
            towers[task.rawValue].backward(
                trace: towerTraces[task.rawValue], dInput: bottomTrace.outputGradient(task),
                ldDInput: bottom.expertWidth,
                accumulate: false)
        }
        if let delayHead, let delayTrace {
            delayHead.backward(
                trace: delayTrace, dInput: bottomTrace.outputGradient(.cvr), ldDInput: bottom.expertWidth,
                accumulate: true)
        }
        let width = shape.layout.servingWidth
        inputGradient.pointer.update(repeating: 0, count: rows * width)
        if let cross {
            cross.outputGradient.pointer.update(repeating: 0, count: rows * width)
            bottom.backward(trace: bottomTrace, dx: cross.outputGradient.pointer, lddx: width)
            cross.backward(dx0: inputGradient.pointer)
        } else {
            bottom.backward(trace: bottomTrace, dx: inputGradient.pointer, lddx: width)
        }
        embeddings.backward(data, rows: batch, dx: inputGradient.pointer)
        if let wide {
            // ∂L/∂(a table field's task column) = ∂L/∂logit_task; continuous fields' columns are not summed.
            let width = wide.part.layout.servingWidth, shared = wide.part.layout.shared.width
            wide.gradient.pointer.update(repeating: 0, count: rows * width)
            for task in PredictionTask.allCases {
                let dLogit = logitGradient(task)
                for r in 0..<rows {
                    let row = wide.gradient.pointer + r * width
                    for column in wide.part.sharedColumns { row[column + task.rawValue] = dLogit[r] }
                    for column in wide.part.itemColumns { row[shared + column + task.rawValue] = dLogit[r] }
                }
            }
            wide.bags.backward(data, rows: batch, dx: wide.gradient.pointer)
        }
    }

    func zeroGradients() {
        denseParameters.forEach { $0.zeroGradient() }
        tables.forEach { $0.zeroGradient() }
    }

    /// The serving tensors, named and ordered as `NetworkShape.tensors` (the auxiliary heads are left out).
    func servingTensors() -> [CheckpointWriter.Tensor] {
        var byName: [String: [Float]] = [:]
        for table in tables { byName[table.name] = table.values }
        for parameter in denseParameters { byName[parameter.name] = parameter.values }
        return shape.tensors.map { tensor in
            guard let values = byName[tensor.name] else {
                preconditionFailure("the trainer has no tensor \(tensor.name)")
            }
            return CheckpointWriter.Tensor(name: tensor.name, shape: tensor.shape, values: values)
        }
    }

    /// Every trainable tensor by name (serving and auxiliary), for training-state files.
    func namedValues() -> [(String, [Float])] {
        tables.map { ($0.name, $0.values) } + denseParameters.map { ($0.name, $0.values) }
    }

    func load(_ values: [String: [Float]]) throws(SpecError) {
        for table in tables {
            guard let v = values[table.name], v.count == table.count else {
                throw SpecError("state lacks \(table.name)")
            }
            table.load(v)
        }
        for parameter in denseParameters {
            guard let v = values[parameter.name], v.count == parameter.count else {
                throw SpecError("state lacks \(parameter.name)")
            }
            parameter.load(v)
        }
        refresh()
    }
}
