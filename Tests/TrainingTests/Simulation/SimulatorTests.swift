import Foundation
import Ranking
import Testing

@testable import Training

/// The simulated world: deterministic, and with the properties that make the problem hard.
struct SimulatorTests {
    @Test func sameSeedSameFiles() throws {
        let configuration = SimulationConfiguration(trainRows: 500, testRows: 200, seed: 9, users: 50, items: 80)
        let a = TestSupport.temporaryDirectory("sim-a"), b = TestSupport.temporaryDirectory("sim-b")
        _ = try WorldSimulator(configuration: configuration).writeFiles(directory: a)
        _ = try WorldSimulator(configuration: configuration).writeFiles(directory: b)
        for name in ["train.csv", "test.csv", "train_truth.csv", "schema.json"] {
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: a + "/" + name))
                    == Data(contentsOf: URL(fileURLWithPath: b + "/" + name)))
        }
    }

    /// `conversionLogitShift` thins conversions without touching clicks; the output directory may be nested.
    @Test func conversionLogitShiftMakesConversionsSparser() throws {
        func summary(_ shift: Double) throws -> WorldSimulator.Summary {
            let configuration = SimulationConfiguration(
                trainRows: 20_000, testRows: 100, seed: 4, users: 500, items: 400, conversionLogitShift: shift)
            let directory = TestSupport.temporaryDirectory("sim-shift") + "/nested/\(shift)"
            return try WorldSimulator(configuration: configuration).writeFiles(directory: directory).train
        }
        let plain = try summary(0), sparse = try summary(-1.5)
        #expect(plain.clicks == sparse.clicks)
        #expect(Double(sparse.conversionsEventual) < 0.5 * Double(plain.conversionsEventual))
    }

    @Test func worldHasSelectionBiasDelaysAndPrivilegedSignals() throws {
        let (directory, schema) = TestSupport.smallWorld
        let data = try TrainingDataReader.readAll(path: directory + "/train.csv", schema: schema)
        let truth = try SimulationTruth.read(path: directory + "/train_truth.csv", rows: data.count)
        let clicks = (0..<data.count).filter { data.click[$0] == 1 }
        let clickRate = Double(clicks.count) / Double(data.count)
        #expect(clickRate > 0.02 && clickRate < 0.08)
        // Selection bias: clicked impressions have a lower true pCVR than the average impression.
        let meanCVR = truth.trueCVR.reduce(0, +) / Float(truth.trueCVR.count)
        let clickedCVR = clicks.reduce(Float(0)) { $0 + truth.trueCVR[$1] } / Float(clicks.count)
        #expect(clickedCVR < meanCVR)
        // Censoring: some eventual conversions of recent clicks are not yet observed in training.
        let observed = clicks.filter { data.conversion[$0] == 1 }.count
        let eventual = clicks.filter { truth.wouldBuy[$0] == 1 }.count
        #expect(observed < eventual && observed > 0)
        #expect(clicks.contains { !data.isMature($0, window: schema.delay.attributionWindowHours) })
        // Privileged dwell time is present exactly on clicks and higher for buyers.
        let dwell = { (row: Int) in data.slots(.privileged, row: row).weights[0] }
        let buyers = clicks.filter { truth.wouldBuy[$0] == 1 }, others = clicks.filter { truth.wouldBuy[$0] == 0 }
        let buyerDwell: Float = buyers.map(dwell).reduce(0, +) / Float(buyers.count)
        let otherDwell: Float = others.map(dwell).reduce(0, +) / Float(others.count)
        #expect(buyerDwell > otherDwell + 0.5)
    }

    /// The structure knobs change what they say: purchase taste apart from click taste, no selection bias, observable
    /// effects, longer delays. Each is measured against the same world with the knob at its default.
    @Test func structureKnobsShapeTheWorld() throws {
        struct World {
            let data: EncodedRows
            let truth: SimulationTruth
            let schema: TrainingSchema
        }
        func world(_ change: (inout SimulationConfiguration) -> Void) throws -> World {
            var configuration = SimulationConfiguration(
                trainRows: 30_000, testRows: 100, seed: 6, users: 800, items: 600)
            change(&configuration)
            let directory = TestSupport.temporaryDirectory("sim-knobs")
            _ = try WorldSimulator(configuration: configuration).writeFiles(directory: directory)
            let schema = WorldSimulator.schema(configuration: configuration)
            let data = try TrainingDataReader.readAll(path: directory + "/train.csv", schema: schema)
            return World(
                data: data, truth: try SimulationTruth.read(path: directory + "/train_truth.csv"), schema: schema)
        }
        func correlation(_ a: [Float], _ b: [Float]) -> Double {
            let x = a.map(Double.init), y = b.map(Double.init)
            let mx = x.reduce(0, +) / Double(x.count), my = y.reduce(0, +) / Double(y.count)
            let cov = zip(x, y).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
            let vx = x.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }, vy = y.reduce(0) { $0 + ($1 - my) * ($1 - my) }
            return cov / (vx * vy).squareRoot()
        }
        func thumbnail(_ w: World) -> [Float] {
            let field = w.schema.features.fields.firstIndex { $0.name == "thumbnail_score" }!
            let placement = w.data.layout.placements[field]
            return (0..<w.data.count).map { w.data.slots(placement.block, row: $0).weights[placement.slotOffset] }
        }
        let base = try world { _ in }
        // Selection bias: the clickbait proxy raises clicks and lowers purchases; without it, purchases ignore it.
        let unbiased = try world { $0.selectionBias = 0 }
        #expect(correlation(thumbnail(base), base.truth.trueCVR) < -0.2)
        #expect(abs(correlation(thumbnail(unbiased), unbiased.truth.trueCVR)) < 0.1)
        // Divergent tastes: true pCTR and pCVR share less.
        let divergent = try world {
            $0.purchaseTasteCorrelation = 0
            $0.selectionBias = 0
        }
        #expect(
            correlation(divergent.truth.trueCTR, divergent.truth.trueCVR) < correlation(
                unbiased.truth.trueCTR, unbiased.truth.trueCVR) - 0.1)
        // Observable effects: the same (segment, category) pairs now share a click rate beyond the hidden tastes.
        let observable = try world {
            $0.latentStrength = 0
            $0.observableStrength = 1
        }
        // Share of the variance of logit(true pCTR) explained by the (segment, category) pair.
        func explainedByGroups(_ w: World) -> Double {
            func index(_ name: String, _ row: Int) -> Int32 {
                let placement = w.data.layout.placements[w.schema.features.fields.firstIndex { $0.name == name }!]
                return w.data.slots(placement.block, row: row).indices[placement.slotOffset]
            }
            let logits = w.truth.trueCTR.map { Double(log($0 / (1 - $0))) }
            var groups: [Int64: [Double]] = [:]
            for row in 0..<w.data.count {
                groups[Int64(index("user_segment", row)) << 32 | Int64(index("item_category", row)), default: []]
                    .append(logits[row])
            }
            let mean = logits.reduce(0, +) / Double(logits.count)
            let total = logits.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            let between = groups.values.reduce(0.0) { sum, values in
                let groupMean = values.reduce(0, +) / Double(values.count)
                return sum + Double(values.count) * (groupMean - mean) * (groupMean - mean)
            }
            return between / total
        }
        #expect(explainedByGroups(observable) > 2 * explainedByGroups(base))
        // Delays: three times longer delays leave more conversions unobserved at the snapshot.
        let delayed = try world { $0.delayScale = 3 }
        func unobserved(_ w: World) -> Double {
            let eventual = (0..<w.data.count).filter { w.data.click[$0] == 1 && w.truth.wouldBuy[$0] == 1 }
            return Double(eventual.filter { w.data.conversion[$0] == 0 }.count) / Double(eventual.count)
        }
        #expect(unobserved(delayed) > unobserved(base) + 0.03)
    }
}
