/// BCE with logits for a hard or soft target t ∈ [0, 1]: ℓ(t, s) = softplus(s) − t·s = −[t log σ(s) +
/// (1 − t) log(1 − σ(s))], and ∂ℓ/∂s = σ(s) − t. Used by the CTR term, naive CVR, IPS (weighted), the
/// purchase-weighted CTR and the distillation terms (soft targets).
enum BinaryCrossEntropy {
    // forward
    @inline(__always) static func loss(logit s: Double, target t: Double) -> Double {
        LogisticMath.softplus(s) - t * s
    }

    // backward
    @inline(__always) static func gradient(logit s: Double, target t: Double) -> Double {
        LogisticMath.sigmoid(s) - t
    }
}
