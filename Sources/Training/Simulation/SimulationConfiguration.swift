/// Size, seed and structure of a simulated impression → click → purchase world (see `WorldSimulator`). The
/// structure knobs make materially different worlds; each default reproduces the project's original world exactly.
public struct SimulationConfiguration: Codable, Sendable, Equatable {
    public var trainRows: Int
    public var testRows: Int
    public var seed: UInt64
    public var users: Int
    public var items: Int
    public var categories: Int
    /// Days of traffic in the training file; its labels are read at the end of them (the snapshot), so the
    /// newest clicks are immature. The test file covers the following `testDays` with mature labels.
    public var trainDays: Int
    public var testDays: Int
    public var candidatesPerRequest: Int
    /// Added to every purchase logit: negative values make conversions sparser (0 gives ≈ 12% of clicks).
    public var conversionLogitShift: Double
    /// Scale of the hidden user × item taste in both logits (1: the original world; 0: no hidden taste).
    public var latentStrength: Double
    /// Scale of observable effects: a (user segment × item category) table and a per-brand effect, in both logits
    /// (0: the original world, where only hidden tastes and noisy proxies matter).
    public var observableStrength: Double
    /// Scale of the clickbait trait's selection bias (+0.8κ on the click logit, −0.9κ on the purchase logit).
    public var selectionBias: Double
    /// Multiplies every category's median click → purchase delay.
    public var delayScale: Double
    /// Correlation of purchase taste with click taste: 1 the same hidden taste drives both, 0 independent tastes.
    public var purchaseTasteCorrelation: Double
    /// Zipf exponent of item popularity: larger concentrates impressions on fewer items (fewer impressions per id
    /// in the tail).
    public var popularityExponent: Double

    public init(
        trainRows: Int = 400_000, testRows: Int = 100_000, seed: UInt64 = 1, users: Int = 20_000, items: Int = 10_000,
        categories: Int = 40, trainDays: Int = 14, testDays: Int = 3, candidatesPerRequest: Int = 10,
        conversionLogitShift: Double = 0, latentStrength: Double = 1, observableStrength: Double = 0,
        selectionBias: Double = 1, delayScale: Double = 1, purchaseTasteCorrelation: Double = 1,
        popularityExponent: Double = 0.8
    ) {
        self.trainRows = trainRows
        self.testRows = testRows
        self.seed = seed
        self.users = users
        self.items = items
        self.categories = categories
        self.trainDays = trainDays
        self.testDays = testDays
        self.candidatesPerRequest = candidatesPerRequest
        self.conversionLogitShift = conversionLogitShift
        self.latentStrength = latentStrength
        self.observableStrength = observableStrength
        self.selectionBias = selectionBias
        self.delayScale = delayScale
        self.purchaseTasteCorrelation = purchaseTasteCorrelation
        self.popularityExponent = popularityExponent
    }

    /// Named worlds that differ in structure, for the quality benchmark (`simulate --preset`). Sizes and seed are
    /// the caller's.
    public enum Preset: String, CaseIterable, Sendable {
        /// The original world: hidden tastes, clickbait selection bias, category delays of 0.5–60 h.
        case `default`
        /// Observable category, brand and segment effects dominate; hidden tastes are weak.
        case observable
        /// Few conversions (≈ 4% of clicks), long delays, strong selection bias.
        case sparseDelayed = "sparse-delayed"
        /// Click and purchase tastes differ; weak selection bias; many ids with few impressions each.
        case divergentTastes = "divergent-tastes"
        /// Many items with a steep popularity curve: most ids are seen a handful of times.
        case longTail = "long-tail"

        public func apply(to configuration: inout SimulationConfiguration) {
            switch self {
            case .default:
                break
            case .observable:
                configuration.latentStrength = 0.4
                configuration.observableStrength = 1
            case .sparseDelayed:
                configuration.conversionLogitShift = -1.2
                configuration.delayScale = 3
                configuration.selectionBias = 1.5
            case .divergentTastes:
                configuration.purchaseTasteCorrelation = 0.2
                configuration.selectionBias = 0.5
                configuration.users *= 2
                configuration.items *= 2
            case .longTail:
                configuration.items *= 5
                configuration.popularityExponent = 1.1
                configuration.observableStrength = 0.5
            }
        }
    }

    private enum CodingKeys: String, CodingKey {
        case seed, users, items, categories
        case trainRows = "train_rows"
        case testRows = "test_rows"
        case trainDays = "train_days"
        case testDays = "test_days"
        case candidatesPerRequest = "candidates_per_request"
        case conversionLogitShift = "conversion_logit_shift"
        case latentStrength = "latent_strength"
        case observableStrength = "observable_strength"
        case selectionBias = "selection_bias"
        case delayScale = "delay_scale"
        case purchaseTasteCorrelation = "purchase_taste_correlation"
        case popularityExponent = "popularity_exponent"
    }
}
