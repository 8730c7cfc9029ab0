import Ranking

/// One loaded, validated and warmed-up model version: what a batch runs on. Requests are encoded against
/// the model current when they arrive and run on that same model, so a swap never mixes specs.
public final class ServableModel: Sendable {
    public let name: String
    public let version: Int
    public let path: String
    public let network: InferenceNetwork
    public let encoder: FeatureEncoder
    public let score: ScoreFormula
    /// Index of the score's price field in the feature spec, if any.
    let priceField: Int?

    init(name: String, version: Int, path: String, checkpoint: Checkpoint, scoreOverride: ScoreFormula?) {
        self.name = name
        self.version = version
        self.path = path
        network = InferenceNetwork(checkpoint: checkpoint)
        let encoder = FeatureEncoder(spec: checkpoint.header.features)
        self.encoder = encoder
        let score = scoreOverride ?? checkpoint.header.score
        self.score = score
        priceField = score.priceField.flatMap { encoder.field(named: $0) }
    }
}
