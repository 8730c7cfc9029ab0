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
}

/// The specification of the forward pass: one input row at a time, plain loops over the checkpoint's
/// tensors exactly as `NetworkShape` describes them, no packing, fusion or sharing. Slow on purpose; the
/// fast `InferenceNetwork` is tested against it.
public struct ReferenceNetwork: Sendable {
    public let checkpoint: Checkpoint
    private var shape: NetworkShape { checkpoint.shape }

    public init(checkpoint: Checkpoint) { self.checkpoint = checkpoint }

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
        let bias = checkpoint.values(name + ".bias")
        return zip(matrixProduct(x, name + ".weight"), bias).map { $0 + $1 }
    }

    /// x · W for the tensor `name` [in, out].
    private func matrixProduct(_ x: [Float], _ name: String) -> [Float] {
        let weight = checkpoint.values(name)
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
