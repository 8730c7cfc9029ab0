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
            #expect(try Data(contentsOf: URL(fileURLWithPath: a + "/" + name)) == Data(contentsOf: URL(fileURLWithPath: b + "/" + name)))
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
}
