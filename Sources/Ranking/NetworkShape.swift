/// The two prediction tasks, in output order.
public enum PredictionTask: Int, CaseIterable, Sendable {
    case ctr, cvr

    public var name: String { self == .ctr ? "ctr" : "cvr" }
}

/// Who owns an expert and which input it reads: shared experts read the shared path, task experts their task's.
public enum ExpertGroup: Hashable, Sendable {
    case task(PredictionTask)
    case shared

    public var name: String {
        switch self {
        case .task(let task): task.name
        case .shared: "shared"
        }
    }

    /// In the order experts appear in a gate's softmax: CTR's, CVR's, then shared.
    public static let all: [ExpertGroup] = [.task(.ctr), .task(.cvr), .shared]
}

/// Hyper-parameters → tensor names, shapes and wiring: the single source of truth for parameter layout,
/// read by the checkpoint validator, the reference network, the fast network and the trainer.
///
/// Wiring of the bottom (PLE; MMoE and shared-bottom are PLE with one level and no task experts):
/// level l has `specificExperts` experts per task and `sharedExperts` shared ones. At level 0 all read the
/// input x. Task t's gate mixes (t's experts, shared experts); for l < levels − 1 a shared gate mixes all
/// experts. At level l > 0, group g's experts and gate read group g's output of level l − 1. A gate over a
/// single expert is the identity and has no weights. Gates are linear without bias, then softmax.
public struct NetworkShape: Sendable {
    public struct Tensor: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public var count: Int { shape.reduce(1, *) }
    }

    public let features: FeatureSpec
    public let network: NetworkSpec
    public let layout: InputLayout
    /// Every parameter, in checkpoint order: embeddings, cross layers, bottom (level by level), towers, wide tables.
    /// Names carry `tensorPrefix`; the static name functions below give them without it.
    public private(set) var tensors: [Tensor] = []
    /// What this network's tensor names start with in a checkpoint: "" for the student, `ctrNetworkPrefix` for a
    /// separate CTR network beside it.
    public let tensorPrefix: String

    /// The tensor-name prefix of a checkpoint's separate CTR network (`CheckpointHeader.ctrNetwork`).
    public static let ctrNetworkPrefix = "ctr_network."

    public init(features: FeatureSpec, network: NetworkSpec, tensorPrefix: String = "") {
        self.features = features
        self.network = network
        self.tensorPrefix = tensorPrefix
        layout = InputLayout(spec: features)
        for index in layout.shared.fields + layout.item.fields {
            let field = features.fields[index]
            if let rows = field.tableRows {
                tensors.append(Tensor(name: Self.embedding(field.name), shape: [rows, field.dimension]))
            }
        }
        for layer in 0..<network.crossLayers {
            let width = layout.servingWidth
            tensors.append(Tensor(name: Self.cross(layer: layer) + ".weight", shape: [width, width]))
            tensors.append(Tensor(name: Self.cross(layer: layer) + ".bias", shape: [width]))
        }
        let expertOutput = network.expertLayers.last!
        for level in 0..<network.levels {
            let input = level == 0 ? layout.servingWidth : expertOutput
            for group in ExpertGroup.all {
                for expert in 0..<expertCount(group) {
                    var width = input
                    for (layer, out) in network.expertLayers.enumerated() {
                        let name = Self.expert(level: level, group: group, expert: expert, layer: layer)
                        tensors.append(Tensor(name: name + ".weight", shape: [width, out]))
                        tensors.append(Tensor(name: name + ".bias", shape: [out]))
                        width = out
                    }
                }
            }
            for group in ExpertGroup.all where hasGate(level: level, group: group) {
                tensors.append(
                    Tensor(name: Self.gate(level: level, group: group), shape: [input, gateExperts(group).count]))
            }
        }
        for task in PredictionTask.allCases {
            var width = expertOutput
            for (layer, out) in network.towerLayers.enumerated() {
                tensors.append(Tensor(name: Self.tower(task, layer: layer) + ".weight", shape: [width, out]))
                tensors.append(Tensor(name: Self.tower(task, layer: layer) + ".bias", shape: [out]))
                width = out
            }
            tensors.append(Tensor(name: Self.towerLogit(task) + ".weight", shape: [width, 1]))
            tensors.append(Tensor(name: Self.towerLogit(task) + ".bias", shape: [1]))
        }
        if network.wide {
            for index in layout.shared.fields + layout.item.fields {
                let field = features.fields[index]
                if let rows = field.tableRows { tensors.append(Tensor(name: Self.wide(field.name), shape: [rows, 2])) }
            }
        }
        if !tensorPrefix.isEmpty { tensors = tensors.map { Tensor(name: tensorPrefix + $0.name, shape: $0.shape) } }
    }

    public func expertCount(_ group: ExpertGroup) -> Int {
        group == .shared ? network.sharedExperts : network.specificExperts
    }

    /// The experts a group's gate mixes, in softmax order; the shared gate mixes every expert.
    public func gateExperts(_ group: ExpertGroup) -> [(group: ExpertGroup, index: Int)] {
        let owners: [ExpertGroup] = group == .shared ? ExpertGroup.all : [group, .shared]
        return owners.flatMap { owner in (0..<expertCount(owner)).map { (owner, $0) } }
    }

    /// Whether `group` has an output at `level`: task outputs always, the shared path below the last level.
    public func hasOutput(level: Int, group: ExpertGroup) -> Bool {
        group != .shared || level < network.levels - 1
    }

    public func hasGate(level: Int, group: ExpertGroup) -> Bool {
        hasOutput(level: level, group: group) && gateExperts(group).count > 1
    }

    /// Input columns of level `level`.
    public func levelInputWidth(_ level: Int) -> Int {
        level == 0 ? layout.servingWidth : network.expertLayers.last!
    }

    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.count } }

    /// Multiply-adds per candidate row of the dense part (embedding lookups excluded), without user-side sharing.
    public var multiplyAddsPerRow: Int {
        tensors.filter {
            !$0.name.hasPrefix(tensorPrefix + "embedding.") && !$0.name.hasPrefix(tensorPrefix + "wide.")
                && $0.shape.count == 2
        }
        .reduce(0) { $0 + $1.count }
    }

    /// The same with user-side sharing: level 0's products with the shared block are made once per request. Cross
    /// layers mix the blocks, so a network with them shares nothing.
    public var multiplyAddsPerRowSharingUserSide: Int {
        network.crossLayers > 0 ? multiplyAddsPerRow : multiplyAddsPerRow - layout.shared.width * levelZeroWidth
    }

    /// Columns of level 0's fused first layer: every expert's first layer, then the gates.
    public var levelZeroWidth: Int {
        var width = ExpertGroup.all.reduce(0) { $0 + expertCount($1) * network.expertLayers[0] }
        for group in ExpertGroup.all where hasGate(level: 0, group: group) { width += gateExperts(group).count }
        return width
    }

    public static func embedding(_ field: String) -> String { "embedding.\(field)" }
    public static func wide(_ field: String) -> String { "wide.\(field)" }
    public static func cross(layer: Int) -> String { "cross.\(layer)" }
    public static func expert(level: Int, group: ExpertGroup, expert: Int, layer: Int) -> String {
        "bottom.\(level).\(group.name).\(expert).layer\(layer)"
    }
    public static func gate(level: Int, group: ExpertGroup) -> String { "bottom.\(level).gate.\(group.name).weight" }
    public static func tower(_ task: PredictionTask, layer: Int) -> String { "tower.\(task.name).layer\(layer)" }
    public static func towerLogit(_ task: PredictionTask) -> String { "tower.\(task.name).logit" }
}
