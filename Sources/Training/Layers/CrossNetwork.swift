import Ranking

/// DCN-v2's cross network (Wang et al., 2021), full rank, on the embedded input: x_{l+1} = x₀ ⊙ (x_l·W_l + b_l) + x_l.
/// Each layer multiplies the input by a learned linear map of itself, so l layers hold feature crosses up to
/// degree l + 1; the residual keeps the identity. Shapes: every x_l and z_l = x_l·W_l + b_l are [rows × width].
final class CrossNetwork {
    let width: Int
    let layers: [Linear]
    /// x₁ … x_L (x₀ is the caller's input) and z₀ … z_{L−1}, then ∂L/∂x_L (written by the caller) and scratch.
    private let outputs: [AlignedFloats]
    private let products: [AlignedFloats]
    let outputGradient: AlignedFloats
    private let productGradient: AlignedFloats
    private let carried: AlignedFloats
    private var input: UnsafePointer<Float>?
    private var rows = 0

    init(width: Int, layers count: Int, capacity: Int, scratch: ScratchSpace, random: inout SplitMix64) {
        self.width = width
        layers = (0..<count).map {
            Linear(
                name: NetworkShape.cross(layer: $0), inputs: width, outputs: width, scratch: scratch, random: &random)
        }
        outputs = layers.map { _ in AlignedFloats(count: capacity * width) }
        products = layers.map { _ in AlignedFloats(count: capacity * width) }
        outputGradient = AlignedFloats(count: capacity * width)
        productGradient = AlignedFloats(count: capacity * width)
        carried = AlignedFloats(count: capacity * width)
    }

    var parameters: [Parameter] { layers.flatMap(\.parameters) }
    func refresh() { layers.forEach { $0.refresh() } }

    /// x_L for the last forward pass [rows × width].
    var output: UnsafeMutablePointer<Float> { outputs.last!.pointer }

    /// x₀ [rows × width] (row stride `width`) → `output`. x₀ must stay unchanged until `backward`.
    func forward(_ x0: UnsafePointer<Float>, rows: Int) {
        input = x0
        self.rows = rows
        let count = rows * width
        var x = x0
        for (l, layer) in layers.enumerated() {
            let z = products[l].pointer, next = outputs[l].pointer
            layer.forward(x, ldx: width, rows: rows, into: z, ldy: width, relu: false)
            for i in 0..<count { next[i] = x0[i] * z[i] + x[i] }
            x = UnsafePointer(next)
        }
    }

    /// From ∂L/∂x_L (`outputGradient`) to the weights and ∂L/∂x₀, added into `dx0` [rows × width].
    /// Layer l, with g = ∂L/∂x_{l+1}: ∂L/∂z_l = g ⊙ x₀, ∂L/∂x_l = g + (g ⊙ x₀)·W_lᵀ, and x₀'s direct share g ⊙ z_l.
    func backward(dx0: UnsafeMutablePointer<Float>) {
        guard let x0 = input else { return }
        let count = rows * width
        let g = carried.pointer, dz = productGradient.pointer
        g.update(from: outputGradient.pointer, count: count)
        for l in layers.indices.reversed() {
            let z = products[l].pointer
            for i in 0..<count {
                dz[i] = g[i] * x0[i]
                dx0[i] += g[i] * z[i]
            }
            let x = l == 0 ? x0 : UnsafePointer(outputs[l - 1].pointer)
            // g becomes ∂L/∂x_l: its residual share (g itself) plus dz·Wᵀ.
            layers[l].backward(x, ldx: width, rows: rows, dy: dz, lddy: width, dx: g, lddx: width, accumulate: true)
        }
        for i in 0..<count { dx0[i] += g[i] }
    }
}
