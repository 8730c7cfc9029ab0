import Ranking

/// Which model and losses to train; every switch exists for the ablations of docs/TRAINING.md.
public struct LossConfiguration: EveryKeyOptional, Sendable, Equatable {
    public enum Model: String, Codable, Sendable, CaseIterable {
        /// The ESMM paper's BASE (docs/MODELS.md §3.1): two independent networks of the configured
        /// architecture, no shared parameters — a CTR network trained on all impressions and a CVR network
        /// with its own embeddings trained on clicked impressions only (so it suffers both the sample selection
        /// bias and the data sparsity ESMM addresses). p_c from the first, p_v from the second. Not exportable
        /// (one serving checkpoint holds one embedding table per field).
        case naive
        /// Naive CVR on the student's shared embeddings and bottom: CTR on all impressions, CVR on clicked
        /// impressions only, one network. It already has ESMM's feature-representation transfer; only the
        /// loss differs from ESMM.
        case naiveShared = "naive-shared"
        /// CTR + CTCVR (p_c·p_v) over all impressions (docs/MODELS.md §3.2).
        case esmm
        /// ESMM + the counterfactual IPS CVR risk with the detached, clipped p_c as propensity (§3.3).
        case escm2IPS = "escm2-ips"
        /// PLE teacher with privileged features, twin dropout CVR, delay tower and IPS; student distilled
        /// from it with purchase-weighted CTR (§5, §6).
        case esdc

        /// Whether p_c·p_v is trained over all impressions (the CTCVR term).
        public var hasEntireSpaceTerm: Bool { self == .esmm || self == .escm2IPS || self == .esdc }
    }

    /// Which rows the student's CVR is distilled on.
    public enum DistillationSpace: String, Codable, Sendable, CaseIterable {
        /// Every impression: q = σ(s_g + r) on clicks, the teacher's base σ(s_g) elsewhere (§6).
        case all
        /// Clicked rows only, where q carries the privileged post-click features (PFD's setting; the default).
        /// Off the clicks the teacher sees the student's own features, and its base CVR there was no better
        /// than the student's and ran 11–32% high (docs/TRAINING.md).
        case clicks
    }

    /// What an unconverted click whose attribution window has not elapsed means.
    public enum DelayHandling: String, Codable, Sendable, CaseIterable {
        /// A negative (the usual bias: new clicks look unconverted).
        case ignore
        /// Left out of every conversion term.
        case matureOnly = "mature-only"
        /// The delayed-feedback likelihood with a delay-bucket hazard tower (docs/MODELS.md §4.2).
        case model
    }

    /// Where p_c comes from.
    public enum CTRNetwork: String, Codable, Sendable, CaseIterable {
        /// `separate` under ESDC, `shared` for every other model.
        case auto
        /// The student's own CTR tower.
        case shared
        /// A second network of the same wiring with its own embeddings, trained beside the student on the click
        /// term alone (`naive`'s CTR network). It serves p_c; the student's p_c·p_v stays the served pCTCVR, so p_v
        /// becomes min(1, pCTCVR / p_c) (`Prediction.init(student:separateCTR:)`). The student's purchase-aware
        /// CTR logit ranks purchases better and clicks worse than a CTR-only network: this keeps each task's best.
        case separate
    }

    public var model: Model = .esdc
    public var ctrNetwork: CTRNetwork = .auto
    public var delay: DelayHandling = .model
    /// λ_g: weight of the entire-space CTCVR term.
    public var ctcvrWeight: Double = 1
    /// λ_c: weight of the IPS CVR term (ESCM², ESDC).
    public var ipsWeight: Double = 0.5
    /// w_max: IPS weights are min(1/p_c, w_max).
    public var ipsClip: Double = 20
    /// ESDC: distillation weight λ of the student's CVR (PFD default 0.5) and of its CTR.
    public var distillationWeight: Double = 0.5
    public var ctrDistillationWeight: Double = 0.25
    /// ESDC: the rows the CVR distillation term covers.
    public var distillationSpace: DistillationSpace = .clicks
    /// ESDC: steps with distillation weights 0 at the start (max with 10% of the run's steps).
    public var warmUpSteps: Int = 1000
    /// ESDC: α of the purchase-weighted student CTR loss (1 + α z).
    public var purchaseWeight: Double = 1
    /// ESDC teacher: twin consistency and base-CVR-on-clicks weights, CVR-tower dropout.
    public var twinWeight: Double = 0.5
    public var baseClickWeight: Double = 0.25
    public var dropout: Double = 0.2
    /// ESDC: uncertainty-weighted distillation (exp(−u/ū) clipped to [0.05, 1]); false gives weight 1.
    public var uncertaintyWeighting: Bool = true
    /// ESDC: whether the teacher sees the privileged post-click features.
    public var privilegedFeatures: Bool = true

    /// Whether a separate CTR network is trained and served (`ctr_network`, `auto` resolved by the model).
    public var usesSeparateCTRNetwork: Bool {
        ctrNetwork == .separate || (ctrNetwork == .auto && model == .esdc)
    }

    /// The IPS weight of a click with propensity p_c (detached): 1/p_c, clipped at `ipsClip` (docs/MODELS.md §5).
    func inversePropensity(_ propensity: Double) -> Double {
        min(1 / max(propensity, LogisticMath.epsilon), ipsClip)
    }

    /// The defaults: what a configuration file's missing keys mean.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case model, delay, dropout
        case ctrNetwork = "ctr_network"
        case ctcvrWeight = "ctcvr_weight"
        case ipsWeight = "ips_weight"
        case ipsClip = "ips_clip"
        case distillationWeight = "distillation_weight"
        case ctrDistillationWeight = "ctr_distillation_weight"
        case distillationSpace = "distillation_space"
        case warmUpSteps = "warm_up_steps"
        case purchaseWeight = "purchase_weight"
        case twinWeight = "twin_weight"
        case baseClickWeight = "base_click_weight"
        case uncertaintyWeighting = "uncertainty_weighting"
        case privilegedFeatures = "privileged_features"
    }
}
