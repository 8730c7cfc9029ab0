#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The click-space conversion term of one clicked row (naive CVR, IPS, the teacher's base-CVR-on-clicks):
/// which rows get a label, and, with delay modelling, the delayed-feedback likelihood of DFM (docs/MODELS.md §4.1,
/// with the discrete delays of §4.2) instead of dropping the newest clicks:
///   label final (delays ignored, converted, or window elapsed): w·BCE(z, σ(s));
///   unconverted click whose window has not elapsed, delay modelled: −w·log(1 − σ(s)·F(e));
///   otherwise (mature-only, or no delay model at hand): no term.
/// With the network's own hazards, a conversion in delay bucket k adds −w·log P(D ∈ k), so the term is the
/// complete DFM likelihood: without it the unconverted rows alone would push every F(e) towards 0.
/// Rows are selected by the click time only, never by the outcome ("converted or mature" would keep the newest
/// conversions and drop the newest non-conversions, so the newest clicks would be positives only).
enum ClickSpaceLikelihood {
    enum Visible {
        /// The network's own hazard logits for this row (F and ∂F/∂a from `DelayHazards`).
        case hazards(UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>?)
        /// A detached F(e) (the ESDC student uses its teacher's).
        case fixed(Double)
        case none
    }

    struct Result {
        var loss: Double
        var dLogit: Double
    }

    /// `weight` already includes the reduction (1/N, 1/|clicks|, IPS weight …).
    static func evaluate(
        logit s: Double, converted: Bool, delayBucket: Int, elapsedHours: Double,
        delay handling: LossConfiguration.DelayHandling,
        buckets: DelayBuckets, weight w: Double, visible: Visible
    ) -> Result? {
        let final = handling == .ignore || elapsedHours >= buckets.attributionWindowHours
        if final || (converted && handling == .model) {
            let z = converted ? 1.0 : 0.0
            var loss = w * BinaryCrossEntropy.loss(logit: s, target: z)
            if converted, handling == .model, delayBucket >= 0, case .hazards(let a, let gradient) = visible {
                let scaled = UnsafeMutablePointer<Float>.allocate(capacity: buckets.count)
                defer { scaled.deallocate() }
                scaled.initialize(repeating: 0, count: buckets.count)
                loss += w * DelayHazards.bucketLoss(a, count: buckets.count, bucket: delayBucket, gradient: scaled)
                if let gradient { for k in 0..<buckets.count { gradient[k] += Float(w) * scaled[k] } }
            }
            return Result(loss: loss, dLogit: w * BinaryCrossEntropy.gradient(logit: s, target: z))
        }
        guard handling == .model, !converted else { return nil }
        let (full, fraction) = buckets.elapsedBuckets(elapsedHours)
        let count = buckets.count
        let cdf: Double  // F(e)
        switch visible {
        case .hazards(let a, _):
            cdf = DelayHazards.visible(a, count: count, full: full, fraction: fraction, scale: 0, gradient: nil)
        case .fixed(let value): cdf = value
        case .none: return nil
        }
        let p = LogisticMath.sigmoid(s)
        let g = min(p * cdf, 1 - LogisticMath.epsilon)
        // ∂/∂s = w F p(1 − p)/(1 − pF); ∂/∂F = w p/(1 − pF), pushed into the hazards.
        if case .hazards(let a, let gradient?) = visible {
            _ = DelayHazards.visible(
                a, count: count, full: full, fraction: fraction, scale: w * p / (1 - g), gradient: gradient)
        }
        return Result(loss: -w * log1p(-g), dLogit: w * cdf * p * (1 - p) / (1 - g))
    }
}
