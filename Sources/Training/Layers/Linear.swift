import Ranking

/// A dense layer y = x·W + b with W [inputs × outputs] (NetworkShape's layout) and b [outputs] (none for
/// gates). The forward pass multiplies with W packed for `funnel_gemm`; `refresh()` repacks after every
/// optimizer step. Shapes: x [rows × inputs] (row stride ldx), y [rows × outputs].
final class Linear {
    let inputs: Int
    let outputs: Int
    let weight: Parameter
    let bias: Parameter?
    /// W packed (k = inputs, n = outputs) for the forward pass; Wᵀ packed (k = outputs, n = inputs) for dx.
    private let packed: AlignedFloats
    private let packedTranspose: AlignedFloats
    private let scratch: ScratchSpace

    init(name: String, inputs: Int, outputs: Int, hasBias: Bool = true, scratch: ScratchSpace, random: inout SplitMix64)
    {
        self.inputs = inputs
        self.outputs = outputs
        self.scratch = scratch
        weight = Parameter(name: hasBias ? name + ".weight" : name, shape: [inputs, outputs], random: &random)
        bias = hasBias ? Parameter(name: name + ".bias", shape: [outputs], random: &random) : nil
        packed = AlignedFloats(count: GEMM.packedCount(k: inputs, n: outputs))
        packedTranspose = AlignedFloats(count: GEMM.packedCount(k: outputs, n: inputs))
        refresh()
    }

    var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    /// Repacks W and Wᵀ from the current weights.
    func refresh() {
        GEMM.pack(weight.value.pointer, k: inputs, n: outputs, ldb: outputs, into: packed.pointer)
        let transposed = scratch.buffer(.transposed, count: inputs * outputs)
        GEMM.transpose(weight.value.pointer, rows: inputs, columns: outputs, ldx: outputs, into: transposed)
        GEMM.pack(transposed, k: outputs, n: inputs, ldb: inputs, into: packedTranspose.pointer)
    }

    // ---------------------------------------------------------------------------------------------
    // forward: y = x·W + b, then ReLU when `relu`.

    func forward(
        _ x: UnsafePointer<Float>, ldx: Int, rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int, relu: Bool
    ) {
        GEMM.multiply(
            x, lda: ldx, rows: rows, packed: packed.pointer, k: inputs, n: outputs, bias: bias?.value.pointer, into: y,
            ldc: ldy, reluColumns: relu ? outputs : 0, threads: scratch.threads)
    }

    // backward: given dy = ∂L/∂(x·W + b) [rows × outputs] (ReLU already applied by the caller):
    //   dW += xᵀ·dy, db += Σ_rows dy, dx (= or +=) dy·Wᵀ.

    func backward(
        _ x: UnsafePointer<Float>, ldx: Int, rows: Int, dy: UnsafePointer<Float>, lddy: Int,
        dx: UnsafeMutablePointer<Float>?, lddx: Int, accumulate: Bool
    ) {
        guard rows > 0 else { return }
        // gradient contribution to the bias
        if let bias {
            let db = bias.gradient.pointer
            for r in 0..<rows {
                let row = dy + r * lddy
                for j in 0..<outputs { db[j] += row[j] }
            }
        }
        // gradient contribution to the weight: xᵀ [inputs × rows] · dy [rows × outputs]
        let xT = scratch.buffer(.transposed, count: inputs * rows)
        GEMM.transpose(x, rows: rows, columns: inputs, ldx: ldx, into: xT)
        let dyPacked = scratch.buffer(.packed, count: GEMM.packedCount(k: rows, n: outputs))
        GEMM.pack(dy, k: rows, n: outputs, ldb: lddy, into: dyPacked)
        let product = scratch.buffer(.product, count: max(inputs * outputs, rows * inputs))
        GEMM.multiply(
            xT, lda: rows, rows: inputs, packed: dyPacked, k: rows, n: outputs, bias: nil, into: product, ldc: outputs,
            threads: scratch.threads)
        let dW = weight.gradient.pointer
        for i in 0..<inputs * outputs { dW[i] += product[i] }
        // gradient into the input: dy [rows × outputs] · Wᵀ [outputs × inputs]
        guard let dx else { return }
        if accumulate {
            GEMM.multiply(
                dy, lda: lddy, rows: rows, packed: packedTranspose.pointer, k: outputs, n: inputs, bias: nil,
                into: product, ldc: inputs, threads: scratch.threads)
            for r in 0..<rows {
                let source = product + r * inputs, target = dx + r * lddx
                for j in 0..<inputs { target[j] += source[j] }
            }
        } else {
            GEMM.multiply(
                dy, lda: lddy, rows: rows, packed: packedTranspose.pointer, k: outputs, n: inputs, bias: nil, into: dx,
                ldc: lddx, threads: scratch.threads)
        }
    }
}
