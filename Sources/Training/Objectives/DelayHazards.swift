#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The discrete-time delay model of docs/MODELS.md §4.2: K buckets with hazards h_k = σ(a_k) for k < K − 1
/// and h_{K−1} := 1; P(D ∈ k) = h_k Π_{j<k}(1 − h_j); S_b = Π_{j<b}(1 − h_j). The visible fraction after
/// b full buckets and a fraction f of bucket b is the CDF linearly interpolated inside bucket b:
/// F = 1 − S_b (1 − f h_b) (F = 1 once mature, b = K).
enum DelayHazards {
    static func hazard(_ a: UnsafePointer<Float>, _ k: Int, _ count: Int) -> Double {
        k == count - 1 ? 1 : LogisticMath.sigmoid(Double(a[k]))
    }

    // forward of −log P(D ∈ k); backward: ∂/∂a_k = −(1 − h_k) (k < K − 1), ∂/∂a_j = h_j (j < k).
    static func bucketLoss(_ a: UnsafePointer<Float>, count: Int, bucket k: Int, gradient: UnsafeMutablePointer<Float>?)
        -> Double
    {
        var loss = 0.0
        for j in 0..<k {
            loss += LogisticMath.softplus(Double(a[j]))  // −log(1 − h_j)
            gradient?[j] += Float(hazard(a, j, count))
        }
        if k < count - 1 {
            loss += LogisticMath.softplus(-Double(a[k]))  // −log h_k
            gradient?[k] += Float(-(1 - hazard(a, k, count)))
        }
        return loss
    }

    // forward of F(b, f); backward: ∂F/∂a_j = S_b (1 − f h_b) h_j for j < b,
    // ∂F/∂a_b = S_b f h_b (1 − h_b) for b < K − 1. `gradient` receives scale · ∂F/∂a.
    static func visible(
        _ a: UnsafePointer<Float>, count: Int, full b: Int, fraction f: Double, scale: Double,
        gradient: UnsafeMutablePointer<Float>?
    ) -> Double {
        if b >= count { return 1 }
        var survival = 1.0
        for j in 0..<b { survival *= 1 - hazard(a, j, count) }
        let hb = hazard(a, b, count)
        let inside = 1 - f * hb
        if let gradient, scale != 0 {
            for j in 0..<b { gradient[j] += Float(scale * survival * inside * hazard(a, j, count)) }
            if b < count - 1 { gradient[b] += Float(scale * survival * f * hb * (1 - hb)) }
        }
        return 1 - survival * inside
    }
}

extension DelayBuckets {
    /// F(e) of each of `rows`, from their hazard logits (`count` per row, in `rows` order): 1 for a conversion or an
    /// elapsed window, else the visible fraction at the row's elapsed time.
    func visibleFractions(_ hazards: UnsafePointer<Float>, _ data: EncodedRows, rows: [Int]) -> [Double] {
        rows.enumerated().map { r, row in
            let elapsed = Double(data.elapsedHours[row])
            guard data.conversion[row] == 0, elapsed < attributionWindowHours else { return 1 }
            let (full, fraction) = elapsedBuckets(elapsed)
            return DelayHazards.visible(
                hazards + r * count, count: count, full: full, fraction: fraction, scale: 0, gradient: nil)
        }
    }
}
