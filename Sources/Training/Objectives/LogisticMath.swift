#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Numerically stable scalar helpers for the losses, in Double (docs/MODELS.md notation: σ, softplus).
enum LogisticMath {
    /// Probabilities are clamped to [ε, 1 − ε] wherever a log of them is taken (docs/MODELS.md §9).
    static let epsilon = 1e-7

    @inline(__always) static func softplus(_ x: Double) -> Double { max(x, 0) + log1p(exp(-abs(x))) }

    @inline(__always) static func sigmoid(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
    }

    /// log σ(s) = −softplus(−s).
    @inline(__always) static func logSigmoid(_ s: Double) -> Double { -softplus(-s) }

    @inline(__always) static func clamp(_ p: Double) -> Double { min(max(p, epsilon), 1 - epsilon) }
}
