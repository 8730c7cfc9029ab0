#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The self-describing JSON header of a checkpoint: what the model is, what it reads, how it is wired,
/// how it was made and how its outputs become a ranking score.
public struct CheckpointHeader: Codable, Sendable, Equatable {
    public var model: ModelIdentity
    public var features: FeatureSpec
    public var network: NetworkSpec
    /// The wiring of a separate CTR network (tensors under `NetworkShape.ctrNetworkPrefix`, same features), or nil.
    /// With one, the served pCTR is that network's, pCTCVR stays the student's product, and pCVR is their ratio
    /// (`Prediction.init(student:separateCTR:)`).
    public var ctrNetwork: NetworkSpec?
    public var score: ScoreFormula
    public var training: TrainingMetadata

    public init(
        model: ModelIdentity, features: FeatureSpec, network: NetworkSpec, ctrNetwork: NetworkSpec? = nil,
        score: ScoreFormula, training: TrainingMetadata
    ) {
        self.model = model
        self.features = features
        self.network = network
        self.ctrNetwork = ctrNetwork
        self.score = score
        self.training = training
    }

    private enum CodingKeys: String, CodingKey {
        case model, features, network, score, training
        case ctrNetwork = "ctr_network"
    }

    /// Checks the specs a serving network is built from: no privileged fields, a valid wiring.
    public func validate() throws(SpecError) {
        try features.validate()
        try network.validate()
        try ctrNetwork?.validate()
        if let field = features.fields.first(where: \.vocabularyToBuild) {
            throw SpecError("field '\(field.name)': its vocabulary was never built (funnel-train train builds it)")
        }
        if let field = features.fields.first(where: { $0.group == .privileged }) {
            throw SpecError("serving checkpoints cannot read privileged field '\(field.name)'")
        }
        if let price = score.priceField {
            guard let field = features.fields.first(where: { $0.name == price }), field.group == .item,
                case .numeric = field.kind
            else { throw SpecError("score price_field '\(price)' must be a numeric item field") }
        }
        guard InputLayout(spec: features).item.width > 0 else { throw SpecError("the model reads no item field") }
    }
}

public struct ModelIdentity: Codable, Sendable, Equatable {
    public var name: String
    public var version: Int

    public init(name: String, version: Int) {
        self.name = name
        self.version = version
    }
}

/// Provenance, free-form apart from the named keys; never read by the serving path.
public struct TrainingMetadata: Codable, Sendable, Equatable {
    /// What wrote the file, e.g. `funnel-train checkpoint init` or `funnel-train export`.
    public var producer: String
    /// RFC 3339 time, or nil for reproducible files.
    public var createdAt: String?
    public var seed: UInt64?
    public var dataset: String?
    public var rows: Int?
    /// Evaluation figures keyed like `ctr_auc`.
    public var metrics: [String: Double]

    public init(
        producer: String, createdAt: String? = nil, seed: UInt64? = nil, dataset: String? = nil, rows: Int? = nil,
        metrics: [String: Double] = [:]
    ) {
        self.producer = producer
        self.createdAt = createdAt
        self.seed = seed
        self.dataset = dataset
        self.rows = rows
        self.metrics = metrics
    }

    private enum CodingKeys: String, CodingKey {
        case producer, seed, dataset, rows, metrics
        case createdAt = "created_at"
    }
}

/// score = pCTR^ctr_exponent · pCVR^cvr_exponent · max(price, 0)^price_exponent, where price is the raw value
/// of the item field `price_field` (the factor is 1 without one). The default, a = b = c = 1, is the expected
/// GMV per impression; a = 1, b = c = 0 ranks by click-through alone.
public struct ScoreFormula: Codable, Sendable, Equatable {
    public var ctrExponent: Double
    public var cvrExponent: Double
    public var priceExponent: Double
    public var priceField: String?

    public init(ctrExponent: Double = 1, cvrExponent: Double = 1, priceExponent: Double = 1, priceField: String? = nil)
    {
        self.ctrExponent = ctrExponent
        self.cvrExponent = cvrExponent
        self.priceExponent = priceExponent
        self.priceField = priceField
    }

    public func score(ctr: Float, cvr: Float, price: Double?) -> Double {
        var score = pow(Double(ctr), ctrExponent) * pow(Double(cvr), cvrExponent)
        if priceField != nil, let price { score *= pow(max(price, 0), priceExponent) }
        return score
    }

    private enum CodingKeys: String, CodingKey {
        case ctrExponent = "ctr_exponent"
        case cvrExponent = "cvr_exponent"
        case priceExponent = "price_exponent"
        case priceField = "price_field"
    }
}
