import CFunnelKernels
import Dispatch
import Ranking

/// The trainer's matrix products, all through the serving kernel `funnel_gemm` (so trainer and server
/// compute the same function), on row-major fp32 matrices. Large products split their rows over `threads`
/// threads in blocks aligned to the micro-kernel's 6 rows; each output element is computed by one thread in one
/// fixed order whatever the thread count, so results are deterministic and do not depend on it.
enum GEMM {
    /// Below this many multiply-adds a product runs on the calling thread (dispatch costs ~µs).
    static let parallelThreshold = 1 << 17
    /// Rows of the micro-kernel: thread blocks are multiples of it so each row is computed the same way.
    static let kernelRows = 6

    /// C [m × n] = A [m × k] · B + bias, ReLU on columns < reluColumns; B packed by `pack`; on up to `threads`
    /// threads.
    static func multiply(
        _ a: UnsafePointer<Float>, lda: Int, rows m: Int, packed: UnsafePointer<Float>, k: Int, n: Int,
        bias: UnsafePointer<Float>?, into c: UnsafeMutablePointer<Float>, ldc: Int, reluColumns: Int = 0,
        threads: Int
    ) {
        precondition(threads >= 1)
        guard m > 0, n > 0 else { return }
        if k == 0 {  // an empty product is the bias
            for r in 0..<m {
                for j in 0..<n {
                    let v = bias?[j] ?? 0
                    c[r * ldc + j] = j < reluColumns ? max(v, 0) : v
                }
            }
            return
        }
        // At least one full micro-kernel block per thread.
        let pieces = min(threads, m / kernelRows)
        if m * n * k < parallelThreshold || pieces < 2 {
            funnel_gemm(Int32(m), Int32(n), Int32(k), a, Int32(lda), packed, bias, c, Int32(ldc), Int32(reluColumns))
            return
        }
        // Row blocks aligned to the micro-kernel's rows so each thread runs full blocks.
        let chunk = (m + pieces - 1) / pieces
        let block = ((chunk + kernelRows - 1) / kernelRows) * kernelRows
        let aAddress = UInt(bitPattern: a), cAddress = UInt(bitPattern: c), pAddress = UInt(bitPattern: packed)
        let biasAddress = bias.map { UInt(bitPattern: $0) }
        DispatchQueue.concurrentPerform(iterations: pieces) { piece in
            let first = piece * block
            let count = min(block, m - first)
            guard count > 0 else { return }
            let a = UnsafePointer<Float>(bitPattern: aAddress)! + first * lda
            let c = UnsafeMutablePointer<Float>(bitPattern: cAddress)! + first * ldc
            let b = UnsafePointer<Float>(bitPattern: pAddress)!
            let bias = biasAddress.flatMap { UnsafePointer<Float>(bitPattern: $0) }
            funnel_gemm(Int32(count), Int32(n), Int32(k), a, Int32(lda), b, bias, c, Int32(ldc), Int32(reluColumns))
        }
    }

    /// Floats `pack` writes for a k × n matrix.
    static func packedCount(k: Int, n: Int) -> Int { funnel_packed_count(Int32(k), Int32(n)) }

    /// Packs B [k × n] (row stride ldb) into `packed`.
    static func pack(_ b: UnsafePointer<Float>, k: Int, n: Int, ldb: Int, into packed: UnsafeMutablePointer<Float>) {
        funnel_pack(Int32(k), Int32(n), b, Int32(ldb), packed)
    }

    /// out [columns × rows] = xᵀ for x [rows × columns] with row stride ldx.
    static func transpose(
        _ x: UnsafePointer<Float>, rows: Int, columns: Int, ldx: Int, into out: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let row = x + r * ldx
            for j in 0..<columns { out[j * rows + r] = row[j] }
        }
    }
}
