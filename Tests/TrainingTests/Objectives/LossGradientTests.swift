import Foundation
import Ranking
import Testing

@testable import Training

/// Each loss's closed-form gradient against central differences in Double.
struct LossGradientTests {
    func derivative(_ f: (Double) -> Double, at x: Double, step: Double = 1e-5) -> Double {
        (f(x + step) - f(x - step)) / (2 * step)
    }

    static let logits: [Double] = [-6, -2.5, -0.3, 0, 0.7, 3, 9]

    @Test(arguments: logits)
    func binaryCrossEntropy(logit: Double) {
        for target in [0.0, 0.3, 1.0] {
            let numeric = derivative({ BinaryCrossEntropy.loss(logit: $0, target: target) }, at: logit)
            #expect(abs(BinaryCrossEntropy.gradient(logit: logit, target: target) - numeric) < 1e-7)
        }
        #expect(abs(BinaryCrossEntropy.loss(logit: logit, target: 1) + log(LogisticMath.sigmoid(logit))) < 1e-9)
    }

    @Test(arguments: logits)
    func productLikelihood(logit: Double) {
        for (other, target, visible) in [(-2.0, 0.0, 1.0), (1.5, 1.0, 1.0), (0.4, 0.0, 0.35), (-4.0, 0.0, 0.9)] {
            let result = ProductLikelihood.evaluate(logitCTR: logit, logitCVR: other, target: target, visible: visible)
            let dc = derivative(
                { ProductLikelihood.evaluate(logitCTR: $0, logitCVR: other, target: target, visible: visible).loss },
                at: logit)
            let dv = derivative(
                { ProductLikelihood.evaluate(logitCTR: logit, logitCVR: $0, target: target, visible: visible).loss },
                at: other)
            #expect(abs(result.dLogitCTR - dc) < 1e-6 * max(1, abs(dc)))
            #expect(abs(result.dLogitCVR - dv) < 1e-6 * max(1, abs(dv)))
        }
        // ESMM's t = 0 term is BCE(0, p_c p_v).
        let pi = LogisticMath.sigmoid(logit) * LogisticMath.sigmoid(0.2)
        #expect(abs(ProductLikelihood.evaluate(logitCTR: logit, logitCVR: 0.2, target: 0).loss + log(1 - pi)) < 1e-9)
    }

    @Test func delayHazards() {
        let count = 5
        var a: [Float] = [-1.2, 0.3, -0.4, 1.1, 0.0]
        for bucket in 0..<count {
            var gradient = [Float](repeating: 0, count: count)
            _ = DelayHazards.bucketLoss(a, count: count, bucket: bucket, gradient: &gradient)
            for j in 0..<count - 1 {
                let numeric = derivative(
                    { x in
                        var b = a
                        b[j] = Float(x)
                        return DelayHazards.bucketLoss(b, count: count, bucket: bucket, gradient: nil)
                    }, at: Double(a[j]), step: 1e-3)
                #expect(abs(Double(gradient[j]) - numeric) < 1e-3)
            }
        }
        // The bucket probabilities sum to 1 (h_{K−1} = 1).
        let total = (0..<count).reduce(0.0) {
            $0 + exp(-DelayHazards.bucketLoss(a, count: count, bucket: $1, gradient: nil))
        }
        #expect(abs(total - 1) < 1e-6)
        for (full, fraction) in [(0, 0.3), (2, 0.0), (3, 0.8), (4, 0.5), (5, 0.0)] {
            var gradient = [Float](repeating: 0, count: count)
            let visible = DelayHazards.visible(
                a, count: count, full: full, fraction: fraction, scale: 1, gradient: &gradient)
            #expect(visible > 0 && visible <= 1)
            for j in 0..<count - 1 {
                let original = a[j]
                let numeric = derivative(
                    { x in
                        a[j] = Float(x)
                        defer { a[j] = original }
                        return DelayHazards.visible(
                            a, count: count, full: full, fraction: fraction, scale: 0, gradient: nil)
                    }, at: Double(a[j]), step: 1e-3)
                #expect(abs(Double(gradient[j]) - numeric) < 1e-3, "full \(full) fraction \(fraction) j \(j)")
            }
        }
        // Mature: everything that will convert is visible.
        #expect(DelayHazards.visible(a, count: count, full: count, fraction: 0, scale: 1, gradient: nil) == 1)
    }

    @Test(arguments: logits)
    func twinConsistency(logit: Double) {
        for other in [-1.0, 0.0, 2.5] {
            let (dA, dB) = TwinConsistency.gradient(logit, other)
            #expect(abs(dA - derivative({ TwinConsistency.loss($0, other) }, at: logit)) < 1e-7)
            #expect(abs(dB - derivative({ TwinConsistency.loss(logit, $0) }, at: other)) < 1e-7)
            #expect(TwinConsistency.loss(logit, other) >= 0)
        }
    }
}
