import CFunnelKernels
import Ranking
import Testing

/// The packed GEMM (AVX2/FMA and scalar paths) against the obvious triple loop.
struct KernelTests {
    struct Shape: CustomStringConvertible, Sendable {
        let m: Int, n: Int, k: Int
        var description: String { "\(m)×\(k)·\(k)×\(n)" }
    }

    static let shapes: [Shape] = [
        Shape(m: 1, n: 1, k: 1), Shape(m: 1, n: 16, k: 8), Shape(m: 7, n: 13, k: 5), Shape(m: 33, n: 37, k: 29),
        Shape(m: 6, n: 32, k: 64), Shape(m: 100, n: 130, k: 97), Shape(m: 97, n: 3, k: 384), Shape(m: 200, n: 17, k: 1),
    ]

    @Test(arguments: shapes, [false, true])
    func gemmMatchesNaive(shape: Shape, scalar: Bool) {
        var random = SplitMix64(seed: UInt64(shape.m * 1000 + shape.n * 10 + shape.k))
        let lda = shape.k + 3, ldc = shape.n + 5  // strides wider than the matrices, as in fused layers
        let a = (0..<shape.m * lda).map { _ in Float(random.uniform(-1, 1)) }
        let b = (0..<shape.k * shape.n).map { _ in Float(random.uniform(-1, 1)) }
        let bias = (0..<shape.n).map { _ in Float(random.uniform(-1, 1)) }
        let reluColumns = shape.n / 2 + 1
        var expected = [Float](repeating: 0, count: shape.m * ldc)
        for i in 0..<shape.m {
            for j in 0..<shape.n {
                var sum = Double(bias[j])
                for p in 0..<shape.k { sum += Double(a[i * lda + p]) * Double(b[p * shape.n + j]) }
                expected[i * ldc + j] = j < reluColumns ? Float(max(sum, 0)) : Float(sum)
            }
        }
        let packed = b.withUnsafeBufferPointer {
            PackedMatrix($0.baseAddress!, rows: shape.k, columns: shape.n, stride: shape.n)
        }
        let sentinel: Float = 12345
        var c = [Float](repeating: sentinel, count: shape.m * ldc)
        funnel_force_scalar(scalar ? 1 : 0)
        defer { funnel_force_scalar(0) }
        packed.multiply(a, rows: shape.m, stride: lda, bias: bias, into: &c, stride: ldc, reluColumns: reluColumns)
        for i in 0..<shape.m {
            for j in 0..<ldc {
                if j >= shape.n {
                    #expect(c[i * ldc + j] == sentinel, "wrote past column \(shape.n)")
                    continue
                }
                let want = expected[i * ldc + j]
                #expect(abs(c[i * ldc + j] - want) <= 1e-5 * max(1, abs(want)), "[\(i), \(j)]")
            }
        }
    }

    @Test func nullBiasMeansZero() {
        let b: [Float] = [1, 2, 3, 4, 5, 6]  // 2 × 3
        let packed = b.withUnsafeBufferPointer { PackedMatrix($0.baseAddress!, rows: 2, columns: 3, stride: 3) }
        var c = [Float](repeating: 0, count: 3)
        packed.multiply([1, -1], rows: 1, stride: 2, bias: nil, into: &c, stride: 3, reluColumns: 0)
        #expect(c == [-3, -3, -3])
    }

    @Test func thisMachineRunsTheVectorPath() {
        // CI machines are the benchmark machines; if this fails the numbers in docs/BENCHMARKS.md do not apply.
        #expect(funnel_has_avx2_fma() == 1)
    }
}
