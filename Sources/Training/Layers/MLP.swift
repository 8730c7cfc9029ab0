import Ranking

/// A stack of `Linear` layers with ReLU after each hidden layer (and after the last when `reluOnLast`),
/// optional inverted dropout on the inputs of chosen layers. Activations live in a `Trace`, so the same
/// weights can run twice on one batch (the twin dropout passes of ESDC's CVR tower).
final class MLP {
    /// Activations of one forward pass, allocated for `capacity` rows.
    final class Trace {
        let capacity: Int
        /// Layer outputs [rows × outputs_l] (post-ReLU where ReLU applies).
        let outputs: [AlignedFloats]
        /// Gradients w.r.t. the layer outputs, same shapes.
        let outputGradients: [AlignedFloats]
        /// Post-dropout inputs and masks of the layers with dropout [rows × inputs_l].
        let droppedInputs: [AlignedFloats?]
        let masks: [AlignedFloats?]
        /// Where the pass read its input, for the backward pass.
        fileprivate var input: UnsafePointer<Float>?
        fileprivate var inputStride = 0
        fileprivate var rows = 0
        fileprivate var dropped = false

        init(_ mlp: MLP, capacity: Int) {
            self.capacity = capacity
            outputs = mlp.layers.map { AlignedFloats(count: capacity * $0.outputs) }
            outputGradients = mlp.layers.map { AlignedFloats(count: capacity * $0.outputs) }
            droppedInputs = mlp.layers.indices.map {
                mlp.dropoutLayers.contains($0) ? AlignedFloats(count: capacity * mlp.layers[$0].inputs) : nil
            }
            masks = mlp.layers.indices.map {
                mlp.dropoutLayers.contains($0) ? AlignedFloats(count: capacity * mlp.layers[$0].inputs) : nil
            }
        }

        /// The last layer's output [rows × outputWidth].
        var output: UnsafeMutablePointer<Float> { outputs.last!.pointer }
        /// ∂L/∂output: the caller writes it before `backward`.
        var outputGradient: UnsafeMutablePointer<Float> { outputGradients.last!.pointer }
    }

    let layers: [Linear]
    let reluOnLast: Bool
    let dropout: Double
    /// Indices of the layers whose input goes through dropout (in training passes only).
    let dropoutLayers: Set<Int>

    /// Layers named `name(l)` for l in widths' indices, e.g. NetworkShape's expert and tower names.
    init(
        inputs: Int, widths: [Int], names: [String], reluOnLast: Bool, dropout: Double = 0,
        dropoutLayers: Set<Int> = [],
        scratch: ScratchSpace, random: inout SplitMix64
    ) {
        precondition(widths.count == names.count && !widths.isEmpty)
        var layers: [Linear] = []
        var width = inputs
        for (out, name) in zip(widths, names) {
            layers.append(Linear(name: name, inputs: width, outputs: out, scratch: scratch, random: &random))
            width = out
        }
        self.layers = layers
        self.reluOnLast = reluOnLast
        self.dropout = dropout
        self.dropoutLayers = dropout > 0 ? dropoutLayers : []
    }

    var inputWidth: Int { layers[0].inputs }
    var outputWidth: Int { layers.last!.outputs }
    var parameters: [Parameter] { layers.flatMap(\.parameters) }

    func makeTrace(capacity: Int) -> Trace { Trace(self, capacity: capacity) }

    func refresh() { layers.forEach { $0.refresh() } }

    private func relu(_ layer: Int) -> Bool { layer < layers.count - 1 || reluOnLast }

    // ---------------------------------------------------------------------------------------------
    // forward: h_0 = input; h_{l+1} = act(drop_l(h_l)·W_l + b_l).

    func forward(
        _ input: UnsafePointer<Float>, ldInput: Int, rows: Int, trace: Trace, training: Bool, random: inout SplitMix64
    ) {
        precondition(rows <= trace.capacity)
        trace.input = input
        trace.inputStride = ldInput
        trace.rows = rows
        trace.dropped = training && !dropoutLayers.isEmpty
        var x = input
        var ldx = ldInput
        for (l, layer) in layers.enumerated() {
            if trace.dropped, let dropped = trace.droppedInputs[l], let mask = trace.masks[l] {
                Dropout.forward(
                    x, ldx: ldx, rows: rows, width: layer.inputs, probability: dropout, mask: mask.pointer,
                    into: dropped.pointer, random: &random)
                x = UnsafePointer(dropped.pointer)
                ldx = layer.inputs
            }
            layer.forward(x, ldx: ldx, rows: rows, into: trace.outputs[l].pointer, ldy: layer.outputs, relu: relu(l))
            x = UnsafePointer(trace.outputs[l].pointer)
            ldx = layer.outputs
        }
    }

    // backward: from trace.outputGradient (∂L/∂h_L), through every layer; dInput (= or +=) ∂L/∂input.

    func backward(trace: Trace, dInput: UnsafeMutablePointer<Float>?, ldDInput: Int, accumulate: Bool) {
        let rows = trace.rows
        for l in layers.indices.reversed() {
            let layer = layers[l]
            let dy = trace.outputGradients[l].pointer
            if relu(l) {
                ReLU.backward(
                    trace.outputs[l].pointer, ldy: layer.outputs, dy: dy, lddy: layer.outputs, rows: rows,
                    width: layer.outputs)
            }
            let x: UnsafePointer<Float>, ldx: Int
            if trace.dropped, let dropped = trace.droppedInputs[l] {
                x = UnsafePointer(dropped.pointer)
                ldx = layer.inputs
            } else if l == 0 {
                x = trace.input!
                ldx = trace.inputStride
            } else {
                x = UnsafePointer(trace.outputs[l - 1].pointer)
                ldx = layers[l - 1].outputs
            }
            let dropping = trace.dropped && trace.masks[l] != nil
            // Without dropout the input gradient goes straight to its destination; with it, through the mask.
            let target: UnsafeMutablePointer<Float>?, ldTarget: Int, accumulateTarget: Bool
            if dropping {
                target = trace.droppedInputs[l]!.pointer  // reused as ∂L/∂(dropped input)
                ldTarget = layer.inputs
                accumulateTarget = false
            } else if l == 0 {
                target = dInput
                ldTarget = ldDInput
                accumulateTarget = accumulate
            } else {
                target = trace.outputGradients[l - 1].pointer
                ldTarget = layers[l - 1].outputs
                accumulateTarget = false
            }
            layer.backward(
                x, ldx: ldx, rows: rows, dy: dy, lddy: layer.outputs, dx: target, lddx: ldTarget,
                accumulate: accumulateTarget)
            if dropping {
                let destination: UnsafeMutablePointer<Float>?, ldDestination: Int, accumulateDestination: Bool
                if l == 0 {
                    destination = dInput
                    ldDestination = ldDInput
                    accumulateDestination = accumulate
                } else {
                    destination = trace.outputGradients[l - 1].pointer
                    ldDestination = layers[l - 1].outputs
                    accumulateDestination = false
                }
                if let destination {
                    Dropout.backward(
                        trace.droppedInputs[l]!.pointer, rows: rows, width: layer.inputs, mask: trace.masks[l]!.pointer,
                        dx: destination, lddx: ldDestination, accumulate: accumulateDestination)
                }
            }
        }
    }
}
