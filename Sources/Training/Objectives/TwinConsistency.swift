/// ESDC's twin-pass consistency and uncertainty (docs/MODELS.md §5.2–5.4): for two dropout passes of
/// one CVR tower with logits s_A, s_B, ½·symKL(Bern(p_A) ‖ Bern(p_B)) = ½ (p_A − p_B)(s_A − s_B) ≥ 0.
enum TwinConsistency {
    // forward
    static func loss(_ sA: Double, _ sB: Double) -> Double {
        0.5 * (LogisticMath.sigmoid(sA) - LogisticMath.sigmoid(sB)) * (sA - sB)
    }

    // backward: ∂/∂s_A = ½[p_A(1 − p_A)(s_A − s_B) + (p_A − p_B)], and symmetrically for s_B.
    static func gradient(_ sA: Double, _ sB: Double) -> (dA: Double, dB: Double) {
        let pA = LogisticMath.sigmoid(sA), pB = LogisticMath.sigmoid(sB)
        return (0.5 * (pA * (1 - pA) * (sA - sB) + (pA - pB)), 0.5 * (pB * (1 - pB) * (sB - sA) + (pB - pA)))
    }
}
