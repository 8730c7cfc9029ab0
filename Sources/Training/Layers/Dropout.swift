import Ranking

/// Inverted dropout: each element is zeroed with probability p and the survivors scaled by 1/(1 − p), so
/// evaluation (no dropout) needs no rescaling. The mask is drawn from the caller's seeded generator.
/// Shapes: x, y, mask [rows × width] (x with row stride ldx; y and mask dense).
enum Dropout {
    // forward: mask_i ∈ {0, 1/(1 − p)}, y = x ⊙ mask.
    static func forward(
        _ x: UnsafePointer<Float>, ldx: Int, rows: Int, width: Int, probability: Double,
        mask: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>, random: inout SplitMix64
    ) {
        let keep = Float(1 / (1 - probability))
        for r in 0..<rows {
            for j in 0..<width {
                let m: Float = random.nextUnit() < probability ? 0 : keep
                mask[r * width + j] = m
                y[r * width + j] = x[r * ldx + j] * m
            }
        }
    }

    // backward: dx (= or +=) dy ⊙ mask.
    static func backward(
        _ dy: UnsafePointer<Float>, rows: Int, width: Int, mask: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, lddx: Int, accumulate: Bool
    ) {
        for r in 0..<rows {
            for j in 0..<width {
                let g = dy[r * width + j] * mask[r * width + j]
                if accumulate { dx[r * lddx + j] += g } else { dx[r * lddx + j] = g }
            }
        }
    }
}
