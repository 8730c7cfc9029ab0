import Ranking

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Post-training calibration (docs/TRAINING.md, "Calibration"): after the epoch one logit offset per task is
/// fitted by maximum likelihood, with the model's own delay handling, on a slice of the training file held out of
/// training (`holdout_fraction` > 0) or on every training row (0); each offset is then added to its task's output bias (`tower.<task>.logit.bias`),
/// so the exported checkpoint — same format, same serving kernel — computes the calibrated function.
///
///   CTR: b_c = argmin Σ_held-out BCE(y, σ(s_c + b)), i.e. Σ σ(s_c + b_c) = Σ y;
///   CVR: b_v = argmin Σ_held-out clicks ℓ(s_v + b), ℓ = `ClickSpaceLikelihood` under the run's `--delay`
///        (ignore: BCE on the observed label; mature-only: clicks whose window elapsed; model: the DFM
///        likelihood −log(1 − σ(s + b)·F(e)) for unconverted clicks whose window is open, F from the model's
///        own delay tower, or the teacher's for the ESDC student);
///        for models trained with an entire-space term (ESMM, ESCM², ESDC) plus Σ_held-out rows of the CTCVR
///        likelihood of σ(s_c + b_c)·σ(s_v + b) with the same delay handling: p_v is checked on the clicks and
///        p_c·p_v on every impression, and fitting one level to both splits the gap between them. Beside a
///        separate CTR network (`ctr_network: separate`) the student's p_v is not what is served (pCVR =
///        pCTCVR / p̂_c): the CVR offset is then fitted to the served pCTCVR's entire-space likelihood alone.
/// A monotone shift per task: AUCs of CTR and CVR are unchanged.
public struct CalibrationConfiguration: EveryKeyOptional, Sendable, Equatable {
    public enum Method: String, Codable, Sendable, CaseIterable {
        case none
        /// Per-task logit offsets folded into the output biases.
        case offset
        /// Per-task slope and offset (Platt scaling, logit ← a · logit + b) folded into the output layers.
        case platt
    }

    public var method: Method = .offset
    /// Share of the training rows held out of training for the fit (whole requests when the schema has a
    /// request id; ignored when `method` is none). 0: no row is held out and the offsets are fitted on every
    /// training row after the epoch — a full-batch fit of the two output biases, which the one-epoch stochastic
    /// run leaves short of their optimum (docs/TRAINING.md, "Calibration").
    /// Defaults (offsets fitted on every training row) chosen on the validation worlds, seeds 97–99.
    public var holdoutFraction: Double = 0

    public init() {}

    public var isEnabled: Bool { method != .none }

    private enum CodingKeys: String, CodingKey {
        case method
        case holdoutFraction = "holdout_fraction"
    }

    /// Whether row `row` of a chunk (`ordinal` = its position among the file's good rows) is held out of
    /// training: a seeded hash of its request id (so a request's candidates stay together), or of the ordinal
    /// without ids.
    func isHeldOut(_ data: EncodedRows, row: Int, ordinal: Int, seed: UInt64) -> Bool {
        guard isEnabled, holdoutFraction > 0 else { return false }
        let key = data.requestKey[row] != 0 ? data.requestKey[row] : UInt64(ordinal) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        var mix = SplitMix64(seed: key ^ (seed &* 0xBF58_476D_1CE4_E5B9))
        return mix.nextUnit() < holdoutFraction
    }
}

/// The offsets fitted by one calibration pass.
public struct CalibrationResult: Codable, Sendable, Equatable {
    /// Logit offsets added to the CTR and CVR output biases.
    public var ctrOffset: Double
    public var cvrOffset: Double
    /// Logit slopes (Platt scaling; 1 for the offset method).
    public var ctrSlope = 1.0
    public var cvrSlope = 1.0
    /// The separate CTR network's own fit (`ctr_network: separate`; the student's stays above), or nil.
    public var ctrNetworkOffset: Double?
    public var ctrNetworkSlope: Double?
    /// Rows (held out, or all training rows with `holdout_fraction` 0), clicks and observed conversions the fit used.
    public var rows: Int
    public var clicks: Int
    public var conversions: Int

    private enum CodingKeys: String, CodingKey {
        case rows, clicks, conversions
        case ctrOffset = "ctr_offset"
        case cvrOffset = "cvr_offset"
        case ctrSlope = "ctr_slope"
        case cvrSlope = "cvr_slope"
        case ctrNetworkOffset = "ctr_network_offset"
        case ctrNetworkSlope = "ctr_network_slope"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        ctrOffset = try c.decode(Double.self, forKey: .ctrOffset)
        cvrOffset = try c.decode(Double.self, forKey: .cvrOffset)
        ctrSlope = try c.decodeIfPresent(Double.self, forKey: .ctrSlope) ?? 1
        cvrSlope = try c.decodeIfPresent(Double.self, forKey: .cvrSlope) ?? 1
        ctrNetworkOffset = try c.decodeIfPresent(Double.self, forKey: .ctrNetworkOffset)
        ctrNetworkSlope = try c.decodeIfPresent(Double.self, forKey: .ctrNetworkSlope)
        rows = try c.decode(Int.self, forKey: .rows)
        clicks = try c.decode(Int.self, forKey: .clicks)
        conversions = try c.decode(Int.self, forKey: .conversions)
    }

    init(
        ctrOffset: Double, cvrOffset: Double, ctrSlope: Double = 1, cvrSlope: Double = 1, rows: Int, clicks: Int,
        conversions: Int
    ) {
        self.ctrOffset = ctrOffset
        self.cvrOffset = cvrOffset
        self.ctrSlope = ctrSlope
        self.cvrSlope = cvrSlope
        self.rows = rows
        self.clicks = clicks
        self.conversions = conversions
    }
}

/// The one-dimensional maximum-likelihood fits.
enum OffsetFit {
    /// One held-out row for the CTR fit.
    struct CTRRow {
        var logit: Double
        var label: Double
    }

    /// One clicked held-out row for the CVR fit.
    struct ClickRow {
        var logit: Double
        var converted: Bool
        var elapsedHours: Double
        /// F(e) of the row (1 when no delay model applies).
        var visible: Double
    }

    /// Σ BCE(y, σ(s + b)) and its derivative in b.
    static func ctr(logits: [Double], labels: [Double], offset b: Double) -> (loss: Double, derivative: Double) {
        var loss = 0.0, derivative = 0.0
        for (s, y) in zip(logits, labels) {
            loss += BinaryCrossEntropy.loss(logit: s + b, target: y)
            derivative += BinaryCrossEntropy.gradient(logit: s + b, target: y)
        }
        return (loss, derivative)
    }

    /// One row of the entire-space CTCVR term for the CVR fit.
    struct EntireSpaceRow {
        var ctrLogit: Double
        var cvrLogit: Double
        var converted: Bool
        /// F(e) of an unconverted row whose window is open (1 otherwise or without a delay model).
        var visible: Double
    }

    /// Σ −log P(observed y·z | p_c·σ(s_v + b), F) over the rows (`ProductLikelihood`, p_c from the calibrated CTR
    /// logit s_c + `ctrOffset`) and its derivative in b.
    static func entireSpace(_ rows: [EntireSpaceRow], ctrOffset: Double, offset b: Double) -> (
        loss: Double, derivative: Double
    ) {
        var loss = 0.0, derivative = 0.0
        for row in rows {
            let term = ProductLikelihood.evaluate(
                logitCTR: row.ctrLogit + ctrOffset, logitCVR: row.cvrLogit + b, target: row.converted ? 1 : 0,
                visible: row.visible)
            loss += term.loss
            derivative += term.dLogitCVR
        }
        return (loss, derivative)
    }

    /// The CVR fit's objective: the click-space term plus the entire-space one (empty for models without it), each
    /// sum multiplied by the rows a sampled row stands for (1 and 1 when every row was kept, which leaves the sums
    /// exactly as they were).
    static func joint(
        clicks: [ClickRow], clickWeight: Double, entireSpace: [EntireSpaceRow], entireSpaceWeight: Double,
        offset b: Double, delay: LossConfiguration.DelayHandling, buckets: DelayBuckets
    ) -> (loss: Double, derivative: Double) {
        let clickSpace = cvr(clicks, offset: b, delay: delay, buckets: buckets)
        let product = OffsetFit.entireSpace(entireSpace, ctrOffset: 0, offset: b)
        return (
            clickWeight * clickSpace.loss + entireSpaceWeight * product.loss,
            clickWeight * clickSpace.derivative + entireSpaceWeight * product.derivative
        )
    }

    /// Σ ℓ(s + b) over the click rows (`ClickSpaceLikelihood` with a fixed F) and its derivative in b.
    static func cvr(
        _ rows: [ClickRow], offset b: Double, delay: LossConfiguration.DelayHandling, buckets: DelayBuckets
    ) -> (loss: Double, derivative: Double) {
        var loss = 0.0, derivative = 0.0
        for row in rows {
            guard
                let term = ClickSpaceLikelihood.evaluate(
                    logit: row.logit + b, converted: row.converted, delayBucket: -1, elapsedHours: row.elapsedHours,
                    delay: delay, buckets: buckets, weight: 1, visible: .fixed(row.visible))
            else { continue }
            loss += term.loss
            derivative += term.dLogit
        }
        return (loss, derivative)
    }

    /// The slope a in [1/4, 4] whose best loss `lossAtSlope(a)` (the offset fitted for it) is least: golden-section
    /// search on log a, 24 steps (a to within 0.02%). Platt scaling with the offset fit nested inside.
    static func bestSlope(_ lossAtSlope: (Double) -> Double) -> Double {
        let ratio = (5.0.squareRoot() - 1) / 2
        var (low, high) = (log(0.25), log(4.0))
        var (x1, x2) = (high - ratio * (high - low), low + ratio * (high - low))
        var (f1, f2) = (lossAtSlope(exp(x1)), lossAtSlope(exp(x2)))
        for _ in 0..<24 {
            if f1 < f2 {
                (high, x2, f2) = (x2, x1, f1)
                x1 = high - ratio * (high - low)
                f1 = lossAtSlope(exp(x1))
            } else {
                (low, x1, f1) = (x1, x2, f2)
                x2 = low + ratio * (high - low)
                f2 = lossAtSlope(exp(x2))
            }
        }
        return exp((low + high) / 2)
    }

    /// A stationary point in [−limit, limit] of a smooth loss of one variable, from its derivative: bisection on
    /// the sign change of the derivative (negative at −limit when the data hold positives, positive at +limit
    /// when they hold negatives; both likelihoods here are then minimised there). nil without a sign change
    /// (no positives or no negatives, or an offset beyond ±limit): the data cannot place the offset.
    static func minimise(limit: Double = 5, _ f: (Double) -> (loss: Double, derivative: Double)) -> Double? {
        var low = -limit, high = limit
        guard f(low).derivative < 0, f(high).derivative > 0 else { return nil }
        for _ in 0..<60 {
            let middle = (low + high) / 2
            if f(middle).derivative < 0 { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }
}
