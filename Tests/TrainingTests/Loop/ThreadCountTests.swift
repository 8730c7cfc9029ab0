import Foundation
import Ranking
import Testing

@testable import Training

/// The thread count is the trainer's own setting and the trained model does not depend on it: each output of a
/// product is computed by one thread, in the same order, whatever the split (`GEMM`).
struct ThreadCountTests {
    /// ESDC with the delay model (student, teacher and delay towers) and the calibration fit, trained on the small
    /// world with 1, 2 and 5 threads: the serving tensors are bit-identical, not merely close.
    @Test func trainedModelIsBitIdenticalForAnyThreadCount() throws {
        let (directory, schema) = TestSupport.smallWorld
        var configuration = TestSupport.smallConfiguration(.esdc, delay: .model)
        configuration.calibration.method = .offset
        func trained(threads: Int) throws -> (tensors: [Float], calibration: CalibrationResult?) {
            let trainer = try Trainer(schema: schema, configuration: configuration, threads: threads)
            #expect(trainer.threads == threads)
            _ = try trainer.train(file: directory + "/train.csv")
            return (trainer.servingTensors().flatMap(\.values), trainer.calibration)
        }
        let one = try trained(threads: 1)
        for threads in [2, 5] {
            let other = try trained(threads: threads)
            let differing = zip(one.tensors, other.tensors).count { $0.bitPattern != $1.bitPattern }
            #expect(differing == 0, "\(threads) threads: \(differing) of \(one.tensors.count) weights differ")
            #expect(other.calibration == one.calibration)
        }
    }

    /// One product split over 1…7 threads, shapes around the micro-kernel's 6-row blocks and the parallel
    /// threshold: every output equals the single-threaded one bit for bit.
    @Test func productDoesNotDependOnTheSplit() {
        var random = SplitMix64(seed: 11)
        for (m, k, n) in [(256, 64, 32), (257, 40, 17), (1_000, 33, 9), (13, 200, 64)] {
            let a = (0..<m * k).map { _ in Float(random.nextUnit() * 2 - 1) }
            let b = (0..<k * n).map { _ in Float(random.nextUnit() * 2 - 1) }
            let bias = (0..<n).map { _ in Float(random.nextUnit()) }
            let packed = AlignedFloats(count: GEMM.packedCount(k: k, n: n))  // the kernel loads aligned panels
            GEMM.pack(b, k: k, n: n, ldb: n, into: packed.pointer)
            func product(threads: Int) -> [Float] {
                var c = [Float](repeating: 0, count: m * n)
                GEMM.multiply(
                    a, lda: k, rows: m, packed: packed.pointer, k: k, n: n, bias: bias, into: &c, ldc: n,
                    reluColumns: n / 2,
                    threads: threads)
                return c
            }
            let reference = product(threads: 1)
            for threads in 2...7 {
                let differing = zip(product(threads: threads), reference).count { $0.bitPattern != $1.bitPattern }
                #expect(differing == 0, "m \(m) k \(k) n \(n), \(threads) threads")
            }
        }
    }

    @Test func settingTheCountReachesEveryNetwork() throws {
        let trainer = try Trainer(
            schema: TestSupport.schema, configuration: TestSupport.smallConfiguration(.esdc, delay: .model), threads: 3)
        #expect(trainer.student.threads == 3 && trainer.teacher!.threads == 3)
        trainer.threads = 1
        #expect(trainer.student.threads == 1 && trainer.teacher!.threads == 1)
        #expect(Trainer.availableCores >= 1)
    }
}
