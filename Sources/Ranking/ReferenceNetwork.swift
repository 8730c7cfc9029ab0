#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// pCTR and pCVR of one candidate; pCTCVR = pCTR × pCVR.
public struct Prediction: Sendable, Equatable {
    public var ctr: Float
    public var cvr: Float
    public var ctcvr: Float { ctr * cvr }

    public init(ctr: Float, cvr: Float) {
        self.ctr = ctr
        self.cvr = cvr
    }

    /// The prediction of a model with a separate CTR network: pCTR is that network's `separateCTR`, pCTCVR stays
    /// the student's product, so pCVR = min(1, pCTCVR / pCTR) (1 where pCTR = 0, which makes pCTCVR 0).
    /// Every consumer (serving kernel, reference, trainer) combines through this one function, so they agree exactly.
    public init(student: Prediction, separateCTR: Float) {
        let ctcvr = student.ctcvr
        self.init(ctr: separateCTR, cvr: ctcvr < separateCTR ? ctcvr / separateCTR : 1)
    }
}

/// The specification of the forward pass: one input row at a time, plain loops over the checkpoint's
/// tensors exactly as `NetworkShape` describes them, no packing, fusion or sharing. Slow on purpose; the
/// fast `InferenceNetwork` is tested against it.
public struct ReferenceNetwork: Sendable {
    public let weights: NetworkWeights
    private var shape: NetworkShape { weights.shape }

    /// The student.
    public init(checkpoint: Checkpoint) { weights = checkpoint.student }

    /// One network of a checkpoint (the student, or its separate CTR network: then only `.ctr` is meant).
    public init(weights: NetworkWeights) { self.weights = weights }

    /// The served prediction of row `row` of a workspace the fast network has embedded (its inputs are taken from
    /// there): the student's, combined with the separate CTR network's when the checkpoint has one.
    public static func prediction(of checkpoint: Checkpoint, workspace: InferenceWorkspace, row: Int) -> Prediction {
        let student = ReferenceNetwork(weights: checkpoint.student).predict(
            input: workspace.inputRow(row), wide: workspace.wideRow(row))
        guard let weights = checkpoint.ctrNetwork, let ctrWorkspace = workspace.ctrWorkspace else { return student }
        let separate = ReferenceNetwork(weights: weights).predict(
            input: ctrWorkspace.inputRow(row), wide: ctrWorkspace.wideRow(row))
        return Prediction(student: student, separateCTR: separate.ctr)
    }

    /// `input` is one row of `layout.servingWidth` columns: the shared block then the item block. With a wide part,
    /// `wide` is the row gathered from the wide tables through `WidePart.layout` (shared then item columns).
    public func predict(input: [Float], wide: [Float] = []) -> Prediction {
        precondition(input.count == shape.layout.servingWidth)
        var crossed = input
        for layer in 0..<shape.network.crossLayers {
            let z = dense(crossed, NetworkShape.cross(layer: layer))
            crossed = (0..<input.count).map { input[$0] * z[$0] + crossed[$0] }
        }
        var groupInput: [ExpertGroup: [Float]] = [.task(.ctr): crossed, .task(.cvr): crossed, .shared: crossed]
        for level in 0..<shape.network.levels {
            var expertOutput: [ExpertGroup: [[Float]]] = [:]
            for group in ExpertGroup.all {
                expertOutput[group] = (0..<shape.expertCount(group)).map { expert in
                    var h = groupInput[group]!
                    for layer in shape.network.expertLayers.indices {
                        let name = NetworkShape.expert(level: level, group: group, expert: expert, layer: layer)
                        h = relu(dense(h, name))
                    }
                    return h
                }
            }
            var output: [ExpertGroup: [Float]] = [:]
            for group in ExpertGroup.all where shape.hasOutput(level: level, group: group) {
                let mixed = shape.gateExperts(group).map { expertOutput[$0.group]![$0.index] }
                if shape.hasGate(level: level, group: group) {
                    let gate = softmax(matrixProduct(groupInput[group]!, NetworkShape.gate(level: level, group: group)))
                    output[group] = (0..<mixed[0].count).map { j in
                        zip(gate, mixed).reduce(Float(0)) { $0 + $1.0 * $1.1[j] }
                    }
                } else {
                    output[group] = mixed[0]
                }
            }
            groupInput = output
        }
        func tower(_ task: PredictionTask) -> Float {
            var h = groupInput[.task(task)]!
            for layer in shape.network.towerLayers.indices {
                h = relu(dense(h, NetworkShape.tower(task, layer: layer)))
            }
            return sigmoid(dense(h, NetworkShape.towerLogit(task))[0] + wideTerm(task))
        }
        /// Σ over every table field of the field's `task` column in the wide row.
        func wideTerm(_ task: PredictionTask) -> Float {
            guard shape.network.wide else { return 0 }
            let part = WidePart(features: shape.features)
            precondition(wide.count == part.layout.servingWidth)
            let columns = part.sharedColumns + part.itemColumns.map { $0 + part.layout.shared.width }
            return columns.reduce(Float(0)) { $0 + wide[$1 + task.rawValue] }
        }
        return Prediction(ctr: tower(.ctr), cvr: tower(.cvr))
    }

    /// x · W + b for `name.weight` [in, out] and `name.bias` [out].
    private func dense(_ x: [Float], _ name: String) -> [Float] {
        let bias = weights.values(name + ".bias")
        return zip(matrixProduct(x, name + ".weight"), bias).map { $0 + $1 }
    }

    /// x · W for the tensor `name` [in, out].
    private func matrixProduct(_ x: [Float], _ name: String) -> [Float] {
        let weight = weights.values(name)
        let outputs = weight.count / x.count
        var y = [Float](repeating: 0, count: outputs)
        for i in x.indices {
            for j in 0..<outputs { y[j] += x[i] * weight[i * outputs + j] }
        }
        return y
    }

    private func relu(_ x: [Float]) -> [Float] { x.map { max($0, 0) } }

    private func softmax(_ x: [Float]) -> [Float] {
        let top = x.max()!
        let e = x.map { exp($0 - top) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }
}

/// The logistic function, stable for large |x|.
@inline(__always) public func sigmoid(_ x: Float) -> Float {
    if x >= 0 { return 1 / (1 + exp(-x)) }
    let e = exp(x)
    return e / (1 + e)
}
