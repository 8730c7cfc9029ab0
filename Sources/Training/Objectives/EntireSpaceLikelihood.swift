/// The entire-space CTCVR term of one impression with its delay rules (docs/MODELS.md §3.2, §4.2): the one
/// definition behind the student's and the teacher's training terms and the offset fit of the CVR output.
/// `ProductLikelihood` gives the likelihood of π = p_c·p_v given F(e); this decides which rows get a term and
/// where F(e) comes from.
enum EntireSpaceLikelihood {
    /// How a row's label is read under a delay handling.
    enum Label: Equatable {
        /// Mature-only leaves out every row whose attribution window is still open, whatever its labels: keeping
        /// the newest conversions but not the newest non-conversions would select on the outcome.
        case excluded
        /// A conversion, a row whose window has elapsed, or delays ignored: P(z) = π.
        case final
        /// Unconverted with its window open, delays modelled: P(z = 0) = 1 − π·F(e) after `elapsedHours`.
        case censored(elapsedHours: Double)

        init(_ data: EncodedRows, row: Int, delay: LossConfiguration.DelayHandling, window: Double) {
            let elapsed = Double(data.elapsedHours[row])
            if delay == .matureOnly, elapsed < window {
                self = .excluded
            } else if delay == .model, data.conversion[row] == 0, elapsed < window {
                self = .censored(elapsedHours: elapsed)
            } else {
                self = .final
            }
        }

        /// F(e) for the likelihood given the fraction known for a censored row (nil: no delay model at hand), or
        /// nil where the row gets no term: an immature click without F(e) is left out as under mature-only, an
        /// immature unclicked row is read as final (it cannot have converted yet either way).
        func visible(known: Double?, clicked: Bool) -> Double? {
            switch self {
            case .excluded: nil
            case .final: 1
            case .censored: known ?? (clicked ? nil : 1)
            }
        }
    }

    /// The term of one row, scaled by `weight` (the reduction and the task weight), or nil where the row gets none.
    /// With a delay tower's hazard logits (`.hazards`), F(e) comes from them and they receive ∂L/∂F, and a
    /// conversion in delay bucket k adds −log P(D ∈ k), so that the hazards see the complete delay likelihood.
    static func evaluate(
        logitCTR sc: Double, logitCVR sv: Double, label: Label, clicked: Bool, converted: Bool, delayBucket: Int,
        buckets: DelayBuckets, visible source: ClickSpaceLikelihood.Visible, weight: Double
    ) -> ProductLikelihood.Result? {
        var known: Double?
        switch (label, source) {
        case (.censored(let elapsed), .hazards(let a, let gradient)):
            let (full, fraction) = buckets.elapsedBuckets(elapsed)
            let f = DelayHazards.visible(
                a, count: buckets.count, full: full, fraction: fraction, scale: 0, gradient: nil)
            // ∂L/∂F = π / (1 − πF), pushed into the hazards.
            let pi = LogisticMath.sigmoid(sc) * LogisticMath.sigmoid(sv)
            let scale = weight * pi / max(1 - pi * f, LogisticMath.epsilon)
            _ = DelayHazards.visible(
                a, count: buckets.count, full: full, fraction: fraction, scale: scale, gradient: gradient)
            known = f
        case (.censored, .fixed(let f)):
            known = f
        default:
            break
        }
        guard let visible = label.visible(known: known, clicked: clicked) else { return nil }
        var result = ProductLikelihood.evaluate(
            logitCTR: sc, logitCVR: sv, target: converted ? 1 : 0, visible: visible)
        result.loss *= weight
        result.dLogitCTR *= weight
        result.dLogitCVR *= weight
        if converted, case .hazards(let a, let gradient) = source, delayBucket >= 0 {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: buckets.count) { scaled in
                scaled.initialize(repeating: 0)
                result.loss +=
                    weight
                    * DelayHazards.bucketLoss(
                        a, count: buckets.count, bucket: delayBucket, gradient: scaled.baseAddress!)
                if let gradient { for k in 0..<buckets.count { gradient[k] += Float(weight) * scaled[k] } }
            }
        }
        return result
    }
}
