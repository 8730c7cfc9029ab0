import Foundation
import Ranking
import Testing

@testable import Training

/// Post-training calibration: the one-dimensional likelihoods and their derivatives (central differences),
/// the fitted offsets, and the fold into the output biases that the exported checkpoint serves.
struct CalibrationTests {
    static func clickRows(seed: UInt64, count: Int) -> [OffsetFit.ClickRow] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let logit = random.uniform(-3, 1)
            let converted = random.nextUnit() < LogisticMath.sigmoid(logit + 0.4)
            // Half the rows inside the 48 h window of TestSupport's buckets, with a fractional F(e).
            let elapsed = random.nextUnit() < 0.5 ? random.uniform(0, 47) : 60
            return OffsetFit.ClickRow(
                logit: logit, converted: converted, elapsedHours: elapsed,
                visible: elapsed < 48 ? random.uniform(0.2, 0.95) : 1)
        }
    }

    static let delays: [LossConfiguration.DelayHandling] = [.ignore, .matureOnly, .model]

    @Test(arguments: delays)
    func cvrOffsetDerivativeAndFit(delay: LossConfiguration.DelayHandling) throws {
        let rows = Self.clickRows(seed: 3, count: 400)
        let buckets = TestSupport.schema.delay
        func f(_ b: Double) -> (loss: Double, derivative: Double) {
            OffsetFit.cvr(rows, offset: b, delay: delay, buckets: buckets)
        }
        let h = 1e-5
        for b in [-1.3, -0.2, 0.0, 0.7] {
            let numeric = (f(b + h).loss - f(b - h).loss) / (2 * h)
            #expect(
                abs(numeric - f(b).derivative) < 1e-5 * max(1, abs(numeric)),
                "\(delay) at \(b): \(numeric) vs \(f(b).derivative)")
        }
        let fitted = try #require(OffsetFit.minimise(f))
        #expect(abs(f(fitted).derivative) < 1e-6)
        #expect(f(fitted).loss <= f(fitted - 0.05).loss && f(fitted).loss <= f(fitted + 0.05).loss)
        // The data were drawn with logits 0.4 too low: the fit finds about that.
        if delay != .model { #expect(abs(fitted - 0.4) < 0.35, "\(delay): \(fitted)") }
    }

    /// The entire-space CTCVR term of the CVR fit: its derivative against central differences, and a fit that
    /// recovers about the shift the conversions were drawn with.
    @Test func entireSpaceOffsetDerivativeAndFit() throws {
        var random = SplitMix64(seed: 12)
        let rows = (0..<4000).map { _ in
            let ctr = random.uniform(-4, -1), cvr = random.uniform(-3, 0)
            let converted = random.nextUnit() < LogisticMath.sigmoid(ctr) * LogisticMath.sigmoid(cvr + 0.5)
            let open = !converted && random.nextUnit() < 0.3
            return OffsetFit.EntireSpaceRow(
                ctrLogit: ctr, cvrLogit: cvr, converted: converted, visible: open ? random.uniform(0.2, 0.9) : 1)
        }
        func f(_ b: Double) -> (loss: Double, derivative: Double) {
            OffsetFit.entireSpace(rows, ctrOffset: 0.1, offset: b)
        }
        let h = 1e-5
        for b in [-1.0, 0.0, 0.6] {
            let numeric = (f(b + h).loss - f(b - h).loss) / (2 * h)
            #expect(
                abs(numeric - f(b).derivative) < 1e-5 * max(1, abs(numeric)),
                "at \(b): \(numeric) vs \(f(b).derivative)")
        }
        let fitted = try #require(OffsetFit.minimise(f))
        #expect(abs(f(fitted).derivative) < 1e-6)
        // Drawn 0.5 too low on s_v (and 0.1 too high on s_c, which the fixed CTR offset adds): about 0.4.
        #expect(abs(fitted - 0.4) < 0.35, "\(fitted)")
    }

    @Test func ctrOffsetMatchesTheClickCount() throws {
        var random = SplitMix64(seed: 8)
        let logits = (0..<2000).map { _ in random.uniform(-4, -1) }
        let labels = logits.map { random.nextUnit() < LogisticMath.sigmoid($0 - 0.3) ? 1.0 : 0.0 }
        func f(_ b: Double) -> (loss: Double, derivative: Double) {
            OffsetFit.ctr(logits: logits, labels: labels, offset: b)
        }
        let h = 1e-5
        for b in [-0.5, 0.2] {
            let numeric = (f(b + h).loss - f(b - h).loss) / (2 * h)
            #expect(abs(numeric - f(b).derivative) < 1e-5 * max(1, abs(numeric)))
        }
        let fitted = try #require(OffsetFit.minimise(f))
        let predicted = logits.reduce(0.0) { $0 + LogisticMath.sigmoid($1 + fitted) }
        #expect(abs(predicted - labels.reduce(0, +)) < 1e-6)
        // No positives: no offset can be placed.
        #expect(OffsetFit.minimise { OffsetFit.ctr(logits: logits, labels: labels.map { _ in 0 }, offset: $0) } == nil)
    }

    /// Held-out rows are not trained on; after training, Σ p_c over them equals their clicks, and the
    /// exported checkpoint (offsets folded into the output biases) serves exactly the calibrated model.
    /// Platt scaling finds the slope and offset that generated the labels from the logits.
    @Test func plattScalingRecoversAKnownSlope() {
        var random = SplitMix64(seed: 17)
        let logits = (0..<10_000).map { _ in random.normal() }
        let labels = logits.map { random.nextUnit() < LogisticMath.sigmoid(2 * $0 - 1) ? 1.0 : 0.0 }
        func fit(_ a: Double) -> (offset: Double, loss: Double) {
            let scaled = logits.map { a * $0 }
            let b = OffsetFit.minimise { OffsetFit.ctr(logits: scaled, labels: labels, offset: $0) }!
            return (b, OffsetFit.ctr(logits: scaled, labels: labels, offset: b).loss)
        }
        let slope = OffsetFit.bestSlope { fit($0).loss }
        #expect(abs(slope - 2) < 0.15, "slope \(slope)")
        #expect(abs(fit(slope).offset + 1) < 0.1, "offset \(fit(slope).offset)")
    }

    /// `platt`: the fitted slopes and offsets are folded into the output layers (wide part included), the
    /// checkpoint serves the calibrated function, and the state keeps them.
    @Test func plattScalingIsWhatTheCheckpointServes() throws {
        var network = NetworkSpec.ple(
            levels: 1, sharedExperts: 1, specificExperts: 1, expertLayers: [8], towerLayers: [4])
        network.wide = true
        var configuration = TestSupport.smallConfiguration(.esmm, delay: .model, network: network, batchSize: 8)
        configuration.shuffleWindow = 64
        configuration.calibration.method = .platt
        let trainer = try Trainer(schema: TestSupport.schema, configuration: configuration)
        let file = NetworkGradientTests.makeFile()
        let data = try TrainingDataReader.readAll(path: file, schema: TestSupport.schema)
        let summary = try trainer.train(file: file)
        let calibration = try #require(summary.calibration)
        #expect(calibration.ctrSlope != 1 && calibration.cvrSlope != 1)
        // At the fitted slope and offset the CTR likelihood is stationary: Σ p = Σ y (the offset's condition).
        var ctr = [Float](repeating: 0, count: data.count), cvr = ctr
        trainer.predictor.predict(data, rows: Array(0..<data.count), ctr: &ctr, cvr: &cvr)
        let clicks = (0..<data.count).reduce(0.0) { $0 + Double(data.click[$1]) }
        #expect(abs(ctr.reduce(0.0) { $0 + Double($1) } - clicks) < 1e-2)
        let result = try CheckpointExporter(trainer: trainer).export(
            modelsDirectory: TestSupport.temporaryDirectory("platt"), name: "m", version: 1, sample: data)
        #expect(result.maxDifference <= CheckpointExporter.tolerance)
        let path = TestSupport.temporaryDirectory("platt-state") + "/state.ftrain"
        try TrainingStateFile.write(trainer, path: path)
        #expect(try TrainingStateFile.read(path: path).calibration == calibration)
    }

    @Test func calibratedModelIsWhatTheCheckpointServes() throws {
        var configuration = TestSupport.smallConfiguration(.esmm, delay: .model, batchSize: 8)
        configuration.shuffleWindow = 64
        configuration.calibration.method = .offset
        configuration.calibration.holdoutFraction = 0.4
        let trainer = try Trainer(schema: TestSupport.schema, configuration: configuration)
        let file = NetworkGradientTests.makeFile()
        let data = try TrainingDataReader.readAll(path: file, schema: TestSupport.schema)
        let held = (0..<data.count).filter {
            configuration.calibration.isHeldOut(data, row: $0, ordinal: $0, seed: configuration.seed)
        }
        #expect(held.count > 8 && held.count < 56)
        // Whole requests (4 rows each here) are held out together.
        #expect(Set(held.map { data.requestKey[$0] }).count * 4 == held.count)
        let summary = try trainer.train(file: file)
        let calibration = try #require(summary.calibration)
        #expect(summary.heldOutRows == held.count && trainer.rowsSeen == data.count - held.count)
        #expect(calibration.rows == held.count && calibration.ctrOffset != 0 && calibration.cvrOffset != 0)
        var ctr = [Float](repeating: 0, count: held.count), cvr = ctr
        trainer.predictor.predict(data, rows: held, ctr: &ctr, cvr: &cvr)
        let clicks = held.reduce(0.0) { $0 + Double(data.click[$1]) }
        #expect(abs(ctr.reduce(0.0) { $0 + Double($1) } - clicks) < 1e-3)
        let result = try CheckpointExporter(trainer: trainer).export(
            modelsDirectory: TestSupport.temporaryDirectory("calibrated"), name: "m", version: 1, sample: data)
        #expect(result.maxDifference <= CheckpointExporter.tolerance)
        var served = ctr, servedCVR = cvr
        ServingPredictor(checkpoint: try Checkpoint(contentsOfFile: result.path)).predict(
            data, rows: held, ctr: &served, cvr: &servedCVR)
        #expect(abs(served.reduce(0.0) { $0 + Double($1) } - clicks) < 1e-3)
        // The state keeps the calibrated tensors and the offsets.
        let path = TestSupport.temporaryDirectory("calibrated-state") + "/state.ftrain"
        try TrainingStateFile.write(trainer, path: path)
        #expect(try TrainingStateFile.read(path: path).calibration == calibration)
    }

    /// `holdout_fraction` 0: every row is trained on, and the offsets are fitted on all of them afterwards.
    @Test func inSampleCalibrationUsesEveryTrainingRow() throws {
        // One batch is the whole file.
        var configuration = TestSupport.smallConfiguration(.naive, delay: .model, batchSize: 64)
        configuration.shuffleWindow = 64
        configuration.calibration.method = .offset
        configuration.calibration.holdoutFraction = 0
        let trainer = try Trainer(schema: TestSupport.schema, configuration: configuration)
        let file = NetworkGradientTests.makeFile()
        let data = try TrainingDataReader.readAll(path: file, schema: TestSupport.schema)
        let summary = try trainer.train(file: file)
        let calibration = try #require(summary.calibration)
        #expect(summary.heldOutRows == 0 && trainer.rowsSeen == data.count && calibration.rows == data.count)
        let clicked = (0..<data.count).filter { data.click[$0] == 1 }
        #expect(calibration.clicks == clicked.count)
        var ctr = [Float](repeating: 0, count: data.count), cvr = ctr
        trainer.predictor.predict(data, rows: Array(0..<data.count), ctr: &ctr, cvr: &cvr)
        let clicks = Double(clicked.count)
        #expect(abs(ctr.reduce(0.0) { $0 + Double($1) } - clicks) < 1e-3)
        // `naive`: the CVR offset went into the CVR network, whose p_v the predictor serves; the fit's condition
        // (∂/∂b of the click-space likelihood = 0) holds for the calibrated p_v with the network's own F(e).
        let cvrNetwork = try #require(trainer.cvrNetwork)
        cvrNetwork.forward(data, rows: clicked)
        let buckets = TestSupport.schema.delay
        let visible = buckets.visibleFractions(UnsafePointer(try #require(cvrNetwork.delayLogits)), data, rows: clicked)
        let rows = clicked.enumerated().map { r, row in
            OffsetFit.ClickRow(
                logit: Double(cvrNetwork.logits(.cvr)[r]), converted: data.conversion[row] == 1,
                elapsedHours: Double(data.elapsedHours[row]), visible: visible[r])
        }
        #expect(abs(OffsetFit.cvr(rows, offset: 0, delay: .model, buckets: buckets).derivative) < 1e-3)
    }

    /// A model with an entire-space term: the CVR offset is stationary for the click-space plus the CTCVR
    /// likelihood together (not for either alone), on the calibrated model. Beside a separate CTR network
    /// (ESDC's default) the student's p_v is not served, and the offset is stationary for the served pCTCVR's
    /// entire-space likelihood alone.
    @Test(arguments: [LossConfiguration.Model.esmm, .esdc])
    func entireSpaceModelsFitTheCVROffsetOnWhatIsServed(model: LossConfiguration.Model) throws {
        // One batch is the whole file.
        var configuration = TestSupport.smallConfiguration(model, delay: .ignore, batchSize: 64)
        configuration.shuffleWindow = 64
        let trainer = try Trainer(schema: TestSupport.schema, configuration: configuration)
        let file = NetworkGradientTests.makeFile()
        let data = try TrainingDataReader.readAll(path: file, schema: TestSupport.schema)
        _ = try trainer.train(file: file)
        let all = Array(0..<data.count)
        trainer.student.forward(data, rows: all)
        let ctr = trainer.student.logits(.ctr), cvr = trainer.student.logits(.cvr)
        let clickRows = all.filter { data.click[$0] == 1 }.map {
            OffsetFit.ClickRow(
                logit: Double(cvr[$0]), converted: data.conversion[$0] == 1,
                elapsedHours: Double(data.elapsedHours[$0]), visible: 1)
        }
        let entireRows = all.compactMap {
            trainer.entireSpaceRow(data, row: $0, ctrLogit: Double(ctr[$0]), cvrLogit: Double(cvr[$0]), visible: nil)
        }
        #expect(entireRows.count == data.count)
        let clickSpace = OffsetFit.cvr(clickRows, offset: 0, delay: .ignore, buckets: TestSupport.schema.delay)
            .derivative
        let product = OffsetFit.entireSpace(entireRows, ctrOffset: 0, offset: 0).derivative
        if model == .esdc {
            #expect(trainer.ctrNetwork != nil)
            #expect(abs(product) < 1e-3)
            #expect(abs(clickSpace) > 1e-3, "the click-space term alone would be stationary too: nothing tested")
        } else {
            #expect(trainer.ctrNetwork == nil)
            #expect(abs(clickSpace + product) < 1e-3)
            #expect(
                abs(clickSpace) > 1e-3 || abs(product) > 1e-3,
                "the two terms alone would both be stationary: nothing tested")
        }
    }
}
