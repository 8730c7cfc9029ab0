import FoundationEssentials
import Ranking

/// Everything a training run needs besides its data: wiring, losses, optimizer, batching and seed.
/// JSON keys are snake_case (docs/TRAINING.md).
public struct TrainingConfiguration: EveryKeyOptional, Sendable, Equatable {
    public var network: NetworkSpec = .ple(
        levels: 1, sharedExperts: 1, specificExperts: 1, expertLayers: [64, 32], towerLayers: [16])
    public var losses: LossConfiguration = LossConfiguration()
    public var optimizer: AdamOptimizer = AdamOptimizer()
    public var batchSize: Int = 1024
    /// Rows read (and shuffled) together: the "shuffle within a day" window of a time-ordered log.
    public var shuffleWindow: Int = 65_536
    /// Passes over the file; 1 by default (the one-epoch finding, docs/MODELS.md §7).
    public var epochs: Int = 1
    public var seed: UInt64 = 1
    /// Hidden width of the training-only delay tower.
    public var delayHidden: Int = 32
    /// Post-training per-task logit offsets, fitted on the training rows or a held-out slice (`Calibration.swift`).
    public var calibration: CalibrationConfiguration = CalibrationConfiguration()
    /// Share of the training file's last rows held out to choose the epoch (`ValidationSlice.swift`); 0: none.
    public var validationFraction: Double = 0
    /// Epochs without a better validation score before training stops.
    public var earlyStoppingPatience: Int = 1

    public func validate() throws(SpecError) {
        try network.validate()
        guard batchSize >= 1, shuffleWindow >= batchSize, epochs >= 1 else {
            throw SpecError("batch_size ≥ 1, shuffle_window ≥ batch_size and epochs ≥ 1 are required")
        }
        guard (0..<1).contains(losses.dropout), losses.ipsClip >= 1 else {
            throw SpecError("dropout in [0, 1), ips_clip ≥ 1")
        }
        guard optimizer.learningRate > 0, (0...1).contains(optimizer.finalLearningRateFraction) else {
            throw SpecError("learning_rate > 0 and final_learning_rate_fraction in [0, 1] are required")
        }
        guard (0..<0.5).contains(validationFraction), earlyStoppingPatience >= 1 else {
            throw SpecError("validation_fraction in [0, 0.5) and early_stopping_patience ≥ 1 are required")
        }
        guard (optimizer.embeddingLearningRate ?? 1) > 0 else {
            throw SpecError("embedding_learning_rate > 0 is required")
        }
        guard (0..<1).contains(calibration.holdoutFraction) else {
            throw SpecError("calibration.holdout_fraction in [0, 1)")
        }
        guard !(losses.model == .naive && losses.ctrNetwork == .separate) else {
            throw SpecError(
                "ctr_network separate needs a model with a CVR tower on the student: naive's CTR network is "
                    + "already a network of its own")
        }
    }

    public static func load(path: String) throws -> TrainingConfiguration {
        let configuration: TrainingConfiguration
        do {
            configuration = try StrictJSON.decode(Self.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw DataError(file: path, line: 0, column: nil, message: "cannot read training configuration: \(error)")
        }
        do {
            try configuration.validate()
        } catch {
            throw DataError(file: path, line: 0, column: nil, message: error.description)
        }
        return configuration
    }

    /// The defaults: what a configuration file's missing keys mean.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case network, losses, optimizer, epochs, seed, calibration
        case batchSize = "batch_size"
        case shuffleWindow = "shuffle_window"
        case delayHidden = "delay_hidden"
        case validationFraction = "validation_fraction"
        case earlyStoppingPatience = "early_stopping_patience"
    }
}
