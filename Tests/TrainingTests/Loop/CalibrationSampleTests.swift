import Foundation
import Ranking
import Testing

@testable import Training

/// The calibration fit in bounded memory: a seeded reservoir sample of each kind of row, whose sums are weighted by
/// the rows each kept one stands for.
struct CalibrationSampleTests {
    @Test func reservoirKeepsEverythingBelowItsCapacityAndAUniformSampleAbove() {
        var small = ReservoirSample<Int>(capacity: 10, seed: 1)
        for i in 0..<7 { small.offer(i) }
        #expect(small.elements == Array(0..<7) && small.seen == 7 && small.weight == 1)
        func sample(seed: UInt64) -> ReservoirSample<Int> {
            var reservoir = ReservoirSample<Int>(capacity: 1_000, seed: seed)
            for i in 0..<20_000 { reservoir.offer(i) }
            return reservoir
        }
        let large = sample(seed: 2)
        #expect(large.elements.count == 1_000 && large.seen == 20_000 && large.weight == 20)
        #expect(sample(seed: 2).elements == large.elements && sample(seed: 3).elements != large.elements)
        // Uniform over the stream: each quarter of it holds about a quarter of the sample (±5σ).
        for quarter in 0..<4 {
            let count = large.elements.count { $0 / 5_000 == quarter }
            #expect(abs(count - 250) < 70, "quarter \(quarter): \(count)")
        }
    }

    /// A kept row weighted 3 counts as three copies of it: the weighted joint objective and its optimum equal those
    /// of the entire-space rows written out three times; the click-space rows keep weight 1.
    @Test func weightCountsAsCopies() throws {
        let clicks = CalibrationTests.clickRows(seed: 4, count: 300)
        var random = SplitMix64(seed: 6)
        let products = (0..<500).map { _ in
            let ctr = random.uniform(-4, -1), cvr = random.uniform(-3, 0)
            let converted = random.nextUnit() < LogisticMath.sigmoid(ctr) * LogisticMath.sigmoid(cvr - 0.8)
            return OffsetFit.EntireSpaceRow(ctrLogit: ctr, cvrLogit: cvr, converted: converted, visible: 1)
        }
        let buckets = TestSupport.schema.delay
        func weighted(_ b: Double) -> (loss: Double, derivative: Double) {
            OffsetFit.joint(
                clicks: clicks, clickWeight: 1, entireSpace: products, entireSpaceWeight: 3, offset: b, delay: .model,
                buckets: buckets)
        }
        func copied(_ b: Double) -> (loss: Double, derivative: Double) {
            OffsetFit.joint(
                clicks: clicks, clickWeight: 1, entireSpace: products + products + products, entireSpaceWeight: 1,
                offset: b, delay: .model, buckets: buckets)
        }
        func unweighted(_ b: Double) -> (loss: Double, derivative: Double) {
            OffsetFit.joint(
                clicks: clicks, clickWeight: 1, entireSpace: products, entireSpaceWeight: 1, offset: b, delay: .model,
                buckets: buckets)
        }
        for b in [-1.0, 0.0, 0.5] {
            #expect(abs(weighted(b).loss - copied(b).loss) < 1e-9 * copied(b).loss)
            #expect(abs(weighted(b).derivative - copied(b).derivative) < 1e-9 * max(1, abs(copied(b).derivative)))
        }
        let (w, c, u) = try (
            #require(OffsetFit.minimise(weighted)), #require(OffsetFit.minimise(copied)),
            #require(OffsetFit.minimise(unweighted))
        )
        #expect(abs(w - c) < 1e-9)
        #expect(abs(w - u) > 0.01, "the weight moves the optimum: \(w) vs \(u)")
    }

    /// ESMM on the small world (24,000 rows, ≈ 1,000 clicks): fitted on every row, and on samples of 8,000 rows of
    /// each kind (the click rows all fit; the entire-space rows are sampled, weight 3). The offsets agree to within
    /// the sampling noise, and the counts are those of every row.
    @Test func sampledFitAgreesWithTheFullFit() throws {
        let (directory, schema) = TestSupport.smallWorld
        var configuration = TestSupport.smallConfiguration(.esmm)
        configuration.calibration.method = .none
        let trainer = try Trainer(schema: schema, configuration: configuration, threads: 1)
        let file = directory + "/train.csv"
        _ = try trainer.train(file: file)
        let trained = Dictionary(uniqueKeysWithValues: trainer.student.namedValues())
        let full = try trainer.calibrate(file: file, policy: .fail)
        try trainer.student.load(trained)
        let sampled = try trainer.calibrate(file: file, policy: .fail, sampleRows: 8_000)
        #expect(full.rows == 24_000 && sampled.rows == full.rows)
        #expect(sampled.clicks == full.clicks && sampled.conversions == full.conversions)
        #expect(abs(sampled.ctrOffset - full.ctrOffset) < 0.1, "CTR \(sampled.ctrOffset) vs \(full.ctrOffset)")
        #expect(abs(sampled.cvrOffset - full.cvrOffset) < 0.1, "CVR \(sampled.cvrOffset) vs \(full.cvrOffset)")
        #expect(sampled.ctrOffset != full.ctrOffset)  // the CTR rows were sampled
    }
}
