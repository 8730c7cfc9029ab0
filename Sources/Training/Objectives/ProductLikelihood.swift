#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The entire-space CTCVR term of ESMM (docs/MODELS.md §3.2) and its delayed-feedback generalisation (§4.2).
/// With π = σ(s_c)·σ(s_v) and F ∈ (0, 1] the probability that a conversion would already be visible:
///   observed conversion (t = 1): −log π [− log P(D ∈ k) with hazards];
///   otherwise (t = 0):           −log(1 − π F)         (F = 1 for mature rows: exactly ESMM).
enum ProductLikelihood {
    struct Result {
        var loss: Double
        var dLogitCTR: Double
        var dLogitCVR: Double
    }

    // forward and backward of BCE(t, π) for t ∈ {0, 1}:
    //   ∂/∂s_c = −t(1 − p_c) + (1 − t)·F π (1 − p_c)/(1 − F π), likewise for s_v.
    static func evaluate(logitCTR sc: Double, logitCVR sv: Double, target t: Double, visible cdf: Double = 1) -> Result
    {
        let pc = LogisticMath.sigmoid(sc), pv = LogisticMath.sigmoid(sv)
        if t == 1 {
            return Result(
                loss: -(LogisticMath.logSigmoid(sc) + LogisticMath.logSigmoid(sv)), dLogitCTR: -(1 - pc),
                dLogitCVR: -(1 - pv))
        }
        let logPi = LogisticMath.logSigmoid(sc) + LogisticMath.logSigmoid(sv)
        let g = min(exp(logPi) * cdf, 1 - LogisticMath.epsilon)
        let scale = g / (1 - g)
        return Result(loss: -log1p(-g), dLogitCTR: scale * (1 - pc), dLogitCVR: scale * (1 - pv))
    }
}
