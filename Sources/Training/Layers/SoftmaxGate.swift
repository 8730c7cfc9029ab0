#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A gate's mixture of experts: g = softmax(logits) per row, out = Σ_i g_i · E_i (docs/MODELS.md §2.2).
/// Shapes: logits and gates [rows × E]; each expert output E_i [rows × width] (row stride ldE_i);
/// out [rows × width].
enum SoftmaxGate {
    // forward: g_i = exp(a_i − max a) / Σ_j exp(a_j − max a); out = Σ_i g_i E_i.
    static func forward(
        logits: UnsafePointer<Float>, ldLogits: Int, rows: Int, experts: [(UnsafePointer<Float>, Int)], width: Int,
        gates: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>
    ) {
        let count = experts.count
        for r in 0..<rows {
            let a = logits + r * ldLogits
            let g = gates + r * count
            var top = a[0]
            for i in 1..<count { top = max(top, a[i]) }
            var total: Float = 0
            for i in 0..<count {
                g[i] = exp(a[i] - top)
                total += g[i]
            }
            for i in 0..<count { g[i] /= total }
            let o = out + r * width
            o.update(repeating: 0, count: width)
            for (i, (expert, ld)) in experts.enumerated() {
                let e = expert + r * ld
                for j in 0..<width { o[j] += g[i] * e[j] }
            }
        }
    }

    // backward: ∂L/∂E_i += g_i ∂L/∂out; ∂L/∂g_i = ⟨∂L/∂out, E_i⟩;
    //           ∂L/∂a_j = g_j (∂L/∂g_j − Σ_i g_i ∂L/∂g_i)  (softmax Jacobian g_j(δ_ij − g_i)).
    static func backward(
        dOut: UnsafePointer<Float>, rows: Int, experts: [(UnsafePointer<Float>, Int)],
        dExperts: [(UnsafeMutablePointer<Float>, Int)], width: Int, gates: UnsafePointer<Float>,
        dLogits: UnsafeMutablePointer<Float>
    ) {
        let count = experts.count
        withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { dg in
            for r in 0..<rows {
                let d = dOut + r * width
                let g = gates + r * count
                var weighted: Float = 0
                for (i, (expert, ld)) in experts.enumerated() {
                    let e = expert + r * ld
                    var dot: Float = 0
                    for j in 0..<width { dot += d[j] * e[j] }
                    dg[i] = dot
                    weighted += g[i] * dot
                    let (dE, lddE) = dExperts[i]
                    let target = dE + r * lddE
                    for j in 0..<width { target[j] += g[i] * d[j] }
                }
                for i in 0..<count { dLogits[r * count + i] = g[i] * (dg[i] - weighted) }
            }
        }
    }
}
