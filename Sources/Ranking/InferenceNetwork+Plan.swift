/// Building the fused, packed plan of `InferenceNetwork` from a checkpoint (once, at model load).
extension InferenceNetwork {
    static func dense(_ name: String, _ weights: NetworkWeights) -> Dense {
        let weight = weights.values(name + ".weight")
        let bias = weights.values(name + ".bias")
        let columns = bias.count
        return Dense(
            matrix: PackedMatrix(weight.baseAddress!, rows: weight.count / columns, columns: columns, stride: columns),
            bias: AlignedFloats(bias))
    }

    /// Per level, the groups whose outputs the towers of `tasks` need, directly (last level) or through the next
    /// level's experts and gates (each group's experts and gate read that group's output). A network serving CTR
    /// alone so skips its CVR experts, gate and tower.
    static func neededOutputs(_ shape: NetworkShape, tasks: [PredictionTask]) -> [Set<ExpertGroup>] {
        let levels = shape.network.levels
        var needed = [Set<ExpertGroup>](repeating: [], count: levels)
        needed[levels - 1] = Set(tasks.map { .task($0) })
        for level in stride(from: levels - 1, to: 0, by: -1) {
            let experts = needed[level].flatMap { shape.gateExperts($0).map(\.group) }
            let gates = needed[level].filter { shape.hasGate(level: level, group: $0) }
            needed[level - 1] = Set(experts + gates)
        }
        return needed
    }

    /// Level `level` of the plan, computing only the outputs in `outputs[level]` (`neededOutputs`).
    static func makeLevel(_ level: Int, _ weights: NetworkWeights, outputs needed: [Set<ExpertGroup>]) -> Level {
        let shape = weights.shape
        let inputWidth = shape.levelInputWidth(level)
        let wanted = needed[level]
        let expertGroups = Set(wanted.flatMap { shape.gateExperts($0).map(\.group) })
        // Level 0 has one input that every expert and gate reads; later levels one input per group.
        let sources: [ExpertGroup?] = level == 0 ? [nil] : ExpertGroup.all.filter { needed[level - 1].contains($0) }
        func reads(_ group: ExpertGroup, _ source: ExpertGroup?) -> Bool { source == nil || source == group }

        var experts: [Expert] = []
        var fused: [FusedLayer] = []
        var gateColumns: [ExpertGroup: (fusedIndex: Int, column: Int)] = [:]
        for source in sources {
            var columns: [[Float]] = []  // row-major pieces [inputWidth × width], concatenated below
            var widths: [Int] = []
            var bias: [Float] = []
            for group in ExpertGroup.all where reads(group, source) && expertGroups.contains(group) {
                for index in 0..<shape.expertCount(group) {
                    let names = shape.network.expertLayers.indices.map {
                        NetworkShape.expert(level: level, group: group, expert: index, layer: $0)
                    }
                    experts.append(
                        Expert(
                            group: group, fusedIndex: fused.count, column: widths.reduce(0, +),
                            tail: names.dropFirst().map { dense($0, weights) }))
                    columns.append(Array(weights.values(names[0] + ".weight")))
                    widths.append(shape.network.expertLayers[0])
                    bias += weights.values(names[0] + ".bias")
                }
            }
            let reluColumns = widths.reduce(0, +)
            for group in ExpertGroup.all
            where reads(group, source) && wanted.contains(group) && shape.hasGate(level: level, group: group) {
                gateColumns[group] = (fused.count, widths.reduce(0, +))
                columns.append(Array(weights.values(NetworkShape.gate(level: level, group: group))))
                widths.append(shape.gateExperts(group).count)
                bias += [Float](repeating: 0, count: shape.gateExperts(group).count)
            }
            let width = widths.reduce(0, +)
            var matrix = [Float](repeating: 0, count: inputWidth * width)
            var offset = 0
            for (piece, pieceWidth) in zip(columns, widths) {
                for row in 0..<inputWidth {
                    for column in 0..<pieceWidth {
                        matrix[row * width + offset + column] = piece[row * pieceWidth + column]
                    }
                }
                offset += pieceWidth
            }
            let sharedRows = level == 0 ? shape.layout.shared.width : 0
            fused.append(
                matrix.withUnsafeBufferPointer { m in
                    FusedLayer(
                        source: source, width: width, reluColumns: reluColumns,
                        weights: PackedMatrix(m.baseAddress!, rows: inputWidth, columns: width, stride: width),
                        sharedWeights: sharedRows > 0
                            ? PackedMatrix(m.baseAddress!, rows: sharedRows, columns: width, stride: width) : nil,
                        itemWeights: sharedRows > 0
                            ? PackedMatrix(
                                m.baseAddress! + sharedRows * width, rows: inputWidth - sharedRows, columns: width,
                                stride: width) : nil,
                        bias: AlignedFloats(bias))
                })
        }

        var outputs: [ExpertGroup: Gate] = [:]
        for group in ExpertGroup.all where wanted.contains(group) {
            let members = shape.gateExperts(group).map { member in
                experts.firstIndex { $0.group == member.group }! + member.index
            }
            let placement = gateColumns[group] ?? (0, 0)  // a single expert passes through; no gate columns
            outputs[group] = Gate(fusedIndex: placement.fusedIndex, column: placement.column, experts: members)
        }
        return Level(fused: fused, experts: experts, outputs: outputs)
    }
}
