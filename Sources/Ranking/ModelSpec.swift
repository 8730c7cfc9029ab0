/// What a model is before it has weights: the features it reads, its wiring and its default score.
/// The JSON form (`config/models/*.json`) is what `funnel-train checkpoint init` and the trainer read.
public struct ModelSpec: Codable, Sendable, Equatable {
    public var features: FeatureSpec
    public var network: NetworkSpec
    public var score: ScoreFormula

    public init(features: FeatureSpec, network: NetworkSpec, score: ScoreFormula = ScoreFormula()) {
        self.features = features
        self.network = network
        self.score = score
    }

    public var shape: NetworkShape { NetworkShape(features: features, network: network) }
}
