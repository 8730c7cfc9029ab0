/// ReLU's backward (its forward is fused into `funnel_gemm`): with y = max(z, 0), ∂L/∂z = ∂L/∂y · 1[y > 0].
/// In place on dy [rows × width] with row stride ld.
enum ReLU {
    static func backward(
        _ y: UnsafePointer<Float>, ldy: Int, dy: UnsafeMutablePointer<Float>, lddy: Int, rows: Int, width: Int
    ) {
        for r in 0..<rows {
            for j in 0..<width where y[r * ldy + j] <= 0 { dy[r * lddy + j] = 0 }
        }
    }
}
