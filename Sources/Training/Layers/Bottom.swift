import Ranking

/// The multi-task bottom with `NetworkShape`'s wiring (PLE; MMoE and shared-bottom are PLE with one level
/// and no task experts): level l's experts per group, a softmax gate per group with an output (none over a
/// single expert), level 0 reading the input x, level l > 0 group g reading g's output of level l − 1.
/// Outputs: one [rows × expertWidth] matrix per task from the last level.
final class Bottom {
    final class Trace {
        /// [level][group][expert]
        let experts: [[[MLP.Trace]]]
        /// [level][group]: gate logits/weights [rows × E] and outputs/gradients [rows × expertWidth], nil
        /// where the group has no gate or no output.
        let gateLogits: [[AlignedFloats?]]
        let gateWeights: [[AlignedFloats?]]
        let outputs: [[AlignedFloats?]]
        let outputGradients: [[AlignedFloats?]]
        fileprivate var input: UnsafePointer<Float>?
        fileprivate var inputStride = 0
        fileprivate var rows = 0

        init(_ bottom: Bottom, capacity: Int) {
            let shape = bottom.shape
            experts = bottom.experts.map { $0.map { $0.map { $0.makeTrace(capacity: capacity) } } }
            gateLogits = (0..<shape.network.levels).map { level in
                ExpertGroup.all.map {
                    shape.hasGate(level: level, group: $0)
                        ? AlignedFloats(count: capacity * shape.gateExperts($0).count) : nil
                }
            }
            gateWeights = gateLogits.map { $0.map { $0.map { AlignedFloats(count: $0.count) } } }
            outputs = (0..<shape.network.levels).map { level in
                ExpertGroup.all.map {
                    shape.hasOutput(level: level, group: $0) ? AlignedFloats(count: capacity * bottom.expertWidth) : nil
                }
            }
            outputGradients = outputs.map { $0.map { $0.map { AlignedFloats(count: $0.count) } } }
        }

        /// Task t's output of the last level [rows × expertWidth] and its gradient (written by the caller).
        func output(_ task: PredictionTask) -> UnsafeMutablePointer<Float> { outputs.last![task.rawValue]!.pointer }
        func outputGradient(_ task: PredictionTask) -> UnsafeMutablePointer<Float> {
            outputGradients.last![task.rawValue]!.pointer
        }
    }

    let shape: NetworkShape
    let expertWidth: Int
    let inputWidth: Int
    /// [level][group][expert]; gates [level][group].
    let experts: [[[MLP]]]
    let gates: [[Linear?]]

    init(shape: NetworkShape, inputWidth: Int, scratch: ScratchSpace, random: inout SplitMix64) {
        self.shape = shape
        self.inputWidth = inputWidth
        let network = shape.network
        expertWidth = network.expertLayers.last!
        var experts: [[[MLP]]] = []
        var gates: [[Linear?]] = []
        for level in 0..<network.levels {
            let input = level == 0 ? inputWidth : expertWidth
            experts.append(
                ExpertGroup.all.map { group in
                    (0..<shape.expertCount(group)).map { expert in
                        MLP(
                            inputs: input, widths: network.expertLayers,
                            names: network.expertLayers.indices.map {
                                NetworkShape.expert(level: level, group: group, expert: expert, layer: $0)
                            }, reluOnLast: true, scratch: scratch, random: &random)
                    }
                })
            gates.append(
                ExpertGroup.all.map { group in
                    shape.hasGate(level: level, group: group)
                        ? Linear(
                            name: NetworkShape.gate(level: level, group: group), inputs: input,
                            outputs: shape.gateExperts(group).count, hasBias: false, scratch: scratch, random: &random)
                        : nil
                })
        }
        self.experts = experts
        self.gates = gates
    }

    var parameters: [Parameter] {
        var all: [Parameter] = []
        for level in experts.indices {
            for group in ExpertGroup.all.indices {
                for expert in experts[level][group] { all += expert.parameters }
            }
            for gate in gates[level] { all += gate?.parameters ?? [] }
        }
        return all
    }

    func refresh() {
        experts.forEach { $0.forEach { $0.forEach { $0.refresh() } } }
        gates.forEach { $0.forEach { $0?.refresh() } }
    }

    func makeTrace(capacity: Int) -> Trace { Trace(self, capacity: capacity) }

    /// The input group `group` reads at `level`: x, or its own output of the level below.
    private func input(_ trace: Trace, level: Int, group: Int) -> (UnsafePointer<Float>, Int) {
        level == 0
            ? (trace.input!, trace.inputStride) : (UnsafePointer(trace.outputs[level - 1][group]!.pointer), expertWidth)
    }

    /// Expert outputs a group's mixture reads, in softmax order.
    private func members(_ trace: Trace, level: Int, group: ExpertGroup) -> [(group: Int, expert: Int)] {
        shape.gateExperts(group).map { (ExpertGroup.all.firstIndex(of: $0.group)!, $0.index) }
    }

    // ---------------------------------------------------------------------------------------------
    // forward: experts → gates (softmax) → mixtures, level by level.

    func forward(_ x: UnsafePointer<Float>, ldx: Int, rows: Int, trace: Trace, random: inout SplitMix64) {
        trace.input = x
        trace.inputStride = ldx
        trace.rows = rows
        for level in experts.indices {
            for (g, group) in ExpertGroup.all.enumerated() {
                let (input, ld) = input(trace, level: level, group: g)
                for (e, expert) in experts[level][g].enumerated() {
                    expert.forward(
                        input, ldInput: ld, rows: rows, trace: trace.experts[level][g][e], training: true,
                        random: &random)
                }
                _ = group
            }
            for (g, group) in ExpertGroup.all.enumerated() {
                guard let output = trace.outputs[level][g] else { continue }
                let sources = members(trace, level: level, group: group).map {
                    (UnsafePointer(trace.experts[level][$0.group][$0.expert].output), expertWidth)
                }
                if let gate = gates[level][g] {
                    let (input, ld) = input(trace, level: level, group: g)
                    let logits = trace.gateLogits[level][g]!.pointer
                    gate.forward(input, ldx: ld, rows: rows, into: logits, ldy: gate.outputs, relu: false)
                    SoftmaxGate.forward(
                        logits: logits, ldLogits: gate.outputs, rows: rows, experts: sources, width: expertWidth,
                        gates: trace.gateWeights[level][g]!.pointer, into: output.pointer)
                } else {
                    output.pointer.update(from: sources[0].0, count: rows * expertWidth)
                }
            }
        }
    }

    // backward: from the tasks' output gradients (trace.outputGradient) down to dx (+=).

    func backward(trace: Trace, dx: UnsafeMutablePointer<Float>?, lddx: Int) {
        let rows = trace.rows
        for level in experts.indices.reversed() {
            for g in ExpertGroup.all.indices {
                for expertTrace in trace.experts[level][g] {
                    expertTrace.outputGradient.update(repeating: 0, count: rows * expertWidth)
                }
            }
            if level > 0 {
                for gradient in trace.outputGradients[level - 1] {
                    gradient?.pointer.update(repeating: 0, count: rows * expertWidth)
                }
            }
            // Where group g's input gradient goes.
            func inputGradient(_ g: Int) -> (UnsafeMutablePointer<Float>?, Int) {
                level == 0 ? (dx, lddx) : (trace.outputGradients[level - 1][g]!.pointer, expertWidth)
            }
            for (g, group) in ExpertGroup.all.enumerated() {
                guard let dOut = trace.outputGradients[level][g] else { continue }
                let parts = members(trace, level: level, group: group)
                if let gate = gates[level][g] {
                    let sources = parts.map {
                        (UnsafePointer(trace.experts[level][$0.group][$0.expert].output), expertWidth)
                    }
                    let targets = parts.map { (trace.experts[level][$0.group][$0.expert].outputGradient, expertWidth) }
                    let dLogits = trace.gateLogits[level][g]!.pointer  // logits are no longer needed
                    SoftmaxGate.backward(
                        dOut: dOut.pointer, rows: rows, experts: sources, dExperts: targets, width: expertWidth,
                        gates: trace.gateWeights[level][g]!.pointer, dLogits: dLogits)
                    let (input, ld) = input(trace, level: level, group: g)
                    let (target, ldTarget) = inputGradient(g)
                    gate.backward(
                        input, ldx: ld, rows: rows, dy: dLogits, lddy: gate.outputs, dx: target, lddx: ldTarget,
                        accumulate: true)
                } else {
                    let target = trace.experts[level][parts[0].group][parts[0].expert].outputGradient
                    for i in 0..<rows * expertWidth { target[i] += dOut.pointer[i] }
                }
            }
            for g in ExpertGroup.all.indices {
                let (target, ldTarget) = inputGradient(g)
                for (e, expert) in experts[level][g].enumerated() {
                    expert.backward(
                        trace: trace.experts[level][g][e], dInput: target, ldDInput: ldTarget, accumulate: true)
                }
            }
        }
    }
}
