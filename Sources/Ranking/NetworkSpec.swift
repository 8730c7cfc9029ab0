/// The multi-task network: embeddings → bottom (shared-bottom MLP, MMoE, or PLE/CGC) → a CTR tower and a
/// CVR tower → sigmoids; pCTCVR = pCTR × pCVR. Every layer uses ReLU; towers end in one logit.
///
/// JSON: `{"architecture": "ple", "levels": 1, "shared_experts": 2, "specific_experts": 1,
/// "expert_layers": [256, 128], "tower_layers": [64]}`; `"mmoe"` takes `experts` and `expert_layers`;
/// `"shared_bottom"` takes `bottom_layers`. `"wide": true` adds the first-order part (`WidePart`);
/// `"cross_layers": n` puts a DCN-v2 cross network of n layers between the embeddings and the bottom.
public struct NetworkSpec: Codable, Sendable, Equatable {
    public enum Architecture: String, Codable, Sendable {
        case sharedBottom = "shared_bottom"
        case mmoe
        case ple
    }

    public var architecture: Architecture
    /// PLE levels (1 = CGC). Shared-bottom and MMoE have one.
    public var levels: Int
    /// Experts every task's gate sees (MMoE: all experts; shared-bottom: the one bottom MLP).
    public var sharedExperts: Int
    /// Experts owned by one task, per task (PLE only).
    public var specificExperts: Int
    /// Hidden widths of each expert (or of the shared bottom); the last is the expert's output width.
    public var expertLayers: [Int]
    /// Hidden widths of each tower before its logit.
    public var towerLayers: [Int]
    /// Whether each task's logit also sums a learned weight per id of every table field (`WidePart`).
    public var wide = false
    /// DCN-v2 cross layers on the embedded input, x_{l+1} = x_0 ⊙ (x_l·W_l + b_l) + x_l, full rank (0: none).
    public var crossLayers = 0

    public static func sharedBottom(layers: [Int], towerLayers: [Int]) -> NetworkSpec {
        NetworkSpec(
            architecture: .sharedBottom, levels: 1, sharedExperts: 1, specificExperts: 0, expertLayers: layers,
            towerLayers: towerLayers)
    }

    public static func mmoe(experts: Int, expertLayers: [Int], towerLayers: [Int]) -> NetworkSpec {
        NetworkSpec(
            architecture: .mmoe, levels: 1, sharedExperts: experts, specificExperts: 0, expertLayers: expertLayers,
            towerLayers: towerLayers)
    }

    public static func ple(
        levels: Int, sharedExperts: Int, specificExperts: Int, expertLayers: [Int], towerLayers: [Int]
    ) -> NetworkSpec {
        NetworkSpec(
            architecture: .ple, levels: levels, sharedExperts: sharedExperts, specificExperts: specificExperts,
            expertLayers: expertLayers, towerLayers: towerLayers)
    }

    public func validate() throws(SpecError) {
        let widths = expertLayers + towerLayers
        guard !expertLayers.isEmpty, widths.allSatisfy({ (1...16384).contains($0) }) else {
            throw SpecError("network layer widths must be in 1...16384 and expert layers non-empty")
        }
        guard (1...8).contains(levels), (0...64).contains(sharedExperts), (0...64).contains(specificExperts),
            sharedExperts + specificExperts >= 1
        else { throw SpecError("network needs 1...8 levels and 1...64 experts per task") }
        guard (0...8).contains(crossLayers) else { throw SpecError("cross_layers must be in 0...8") }
        switch architecture {
        case .sharedBottom:
            guard levels == 1, sharedExperts == 1, specificExperts == 0 else {
                throw SpecError("shared_bottom has one level and one bottom MLP")
            }
        case .mmoe:
            guard levels == 1, specificExperts == 0 else {
                throw SpecError("mmoe has one level and only shared experts")
            }
        case .ple:
            guard levels == 1 || sharedExperts >= 1 else {
                throw SpecError("multi-level ple needs shared experts to carry the shared path")
            }
        }
    }
}

extension NetworkSpec {
    private enum CodingKeys: String, CodingKey {
        case architecture, levels, experts
        case sharedExperts = "shared_experts"
        case specificExperts = "specific_experts"
        case expertLayers = "expert_layers"
        case bottomLayers = "bottom_layers"
        case towerLayers = "tower_layers"
        case wide
        case crossLayers = "cross_layers"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let towers = try c.decode([Int].self, forKey: .towerLayers)
        switch try c.decode(Architecture.self, forKey: .architecture) {
        case .sharedBottom:
            self = .sharedBottom(layers: try c.decode([Int].self, forKey: .bottomLayers), towerLayers: towers)
        case .mmoe:
            self = .mmoe(
                experts: try c.decode(Int.self, forKey: .experts),
                expertLayers: try c.decode([Int].self, forKey: .expertLayers), towerLayers: towers)
        case .ple:
            self = .ple(
                levels: try c.decodeIfPresent(Int.self, forKey: .levels) ?? 1,
                sharedExperts: try c.decode(Int.self, forKey: .sharedExperts),
                specificExperts: try c.decode(Int.self, forKey: .specificExperts),
                expertLayers: try c.decode([Int].self, forKey: .expertLayers), towerLayers: towers)
        }
        wide = try c.decodeIfPresent(Bool.self, forKey: .wide) ?? false
        crossLayers = try c.decodeIfPresent(Int.self, forKey: .crossLayers) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(architecture, forKey: .architecture)
        switch architecture {
        case .sharedBottom:
            try c.encode(expertLayers, forKey: .bottomLayers)
        case .mmoe:
            try c.encode(sharedExperts, forKey: .experts)
            try c.encode(expertLayers, forKey: .expertLayers)
        case .ple:
            try c.encode(levels, forKey: .levels)
            try c.encode(sharedExperts, forKey: .sharedExperts)
            try c.encode(specificExperts, forKey: .specificExperts)
            try c.encode(expertLayers, forKey: .expertLayers)
        }
        try c.encode(towerLayers, forKey: .towerLayers)
        if wide { try c.encode(wide, forKey: .wide) }
        if crossLayers > 0 { try c.encode(crossLayers, forKey: .crossLayers) }
    }
}
