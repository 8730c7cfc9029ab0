import Foundation
import Ranking
import Testing

@testable import Training

/// The loop on a small simulated world: learning, determinism, resumable state.
struct TrainingLoopTests {
    @Test func lossFallsAndTheModelLearnsOnASimulatedWorld() throws {
        let (directory, schema) = TestSupport.smallWorld
        let trainer = try Trainer(schema: schema, configuration: TestSupport.smallConfiguration(.esmm))
        let data = try TrainingDataReader.readAll(path: directory + "/train.csv", schema: schema)
        let probe = Array(0..<2048)
        let objective = StudentObjective(configuration: trainer.configuration.losses, delay: schema.delay)
        func probeLoss() -> Double {
            trainer.student.forward(data, rows: Array(probe.prefix(256)))
            return objective.apply(trainer.student, data, rows: Array(probe.prefix(256))).total
        }
        let before = probeLoss()
        var progress: [TrainingProgress] = []
        let summary = try trainer.train(file: directory + "/train.csv", progressEvery: 20) { progress.append($0) }
        #expect(summary.rows == 24_000 && summary.steps == 94)
        #expect(!progress.isEmpty && progress.last!.rowsPerSecond > 0)
        #expect(probeLoss() < before * 0.5)
        let report = try Evaluator(schema: schema).evaluate(
            trainer.predictor, file: directory + "/test.csv", truthFile: directory + "/test_truth.csv")
        #expect(report.ctr.auc! > 0.6, "CTR AUC \(report.ctr.auc!)")
        #expect(report.entireSpaceCVR!.rows == 8_000)
        #expect(report.ctr.pcoc! > 0.7 && report.ctr.pcoc! < 1.4)
        // Training on from here (as `train --resume` does): the summary counts this call's rows and steps only.
        let more = try trainer.train(file: directory + "/test.csv")
        #expect(more.rows == 8_000 && more.steps == 32 && trainer.rowsSeen == 32_000 && trainer.steps == 126)
    }

    /// The last rows are held out of training; each epoch is scored on them; training stops after the first epoch
    /// that does not improve, and the student keeps the best epoch's weights.
    @Test func earlyStoppingKeepsTheBestEpochOnTheNewestRows() throws {
        let (directory, schema) = TestSupport.smallWorld
        var configuration = TestSupport.smallConfiguration(.esmm)
        configuration.epochs = 4
        configuration.validationFraction = 0.25
        configuration.optimizer.learningRate = 2e-2  // overfits within a few epochs on 18k rows
        let trainer = try Trainer(schema: schema, configuration: configuration)
        let file = directory + "/train.csv"
        let summary = try trainer.train(file: file)
        let epochs = summary.validation.count
        #expect(epochs >= 2 && summary.validation.allSatisfy { $0.rows == 6_000 })
        #expect(summary.rows == epochs * 18_000)  // the newest quarter was never trained on
        let best = try #require(summary.validation.max { $0.score < $1.score })
        #expect(summary.chosenEpoch == best.epoch)
        let scores = summary.validation.map(\.score)
        #expect(best.epoch < epochs, "the weights are restored from an earlier epoch: \(scores)")
        if epochs < 4 { #expect(summary.validation.last!.score <= best.score) }  // stopped: no gain
        // The student now scores the slice as in its best epoch. The CTR offset fit keeps the ranking but moves
        // scores across the histograms' bins, so the AUC agrees within their bound (1e-4 here), which still tells
        // the epochs apart.
        let now = try trainer.validationFigures(file: file, policy: .fail, from: 18_000, epoch: 0)
        #expect(abs(now.ctrAUC - best.ctrAUC) < 1e-4, "\(now.ctrAUC) vs \(best.ctrAUC), epochs \(scores)")
        #expect(summary.validation.allSatisfy { $0.epoch == best.epoch || abs($0.ctrAUC - best.ctrAUC) > 1e-4 })
    }

    @Test func sameSeedSameModel() throws {
        let data = NetworkGradientTests.makeData()
        func trained(seed: UInt64) throws -> [Float] {
            let trainer = try Trainer(
                schema: TestSupport.schema,
                configuration: TestSupport.smallConfiguration(.esdc, delay: .model, batchSize: 32, seed: seed))
            for start in [0, 32, 0, 32] { trainer.step(data, rows: Array(start..<start + 32)) }
            return trainer.servingTensors().flatMap(\.values)
        }
        let first = try trained(seed: 1)
        #expect(try trained(seed: 1) == first)
        #expect(try trained(seed: 2) != first)
    }

    /// `evaluate --teacher`: the soft labels use the privileged residual on clicked rows only; the base output
    /// is σ(s_g) everywhere; p_c is the teacher's in both; only ESDC has a teacher.
    @Test func teacherPredictorOutputs() throws {
        let data = NetworkGradientTests.makeData()
        let rows = Array(0..<data.count)
        let trainer = try Trainer(
            schema: TestSupport.schema,
            configuration: TestSupport.smallConfiguration(.esdc, delay: .model, batchSize: 32))
        for start in [0, 32] { trainer.step(data, rows: Array(start..<start + 32)) }
        func scores(_ output: TeacherPredictor.Output) -> (ctr: [Float], cvr: [Float]) {
            var ctr = [Float](repeating: 0, count: rows.count), cvr = ctr
            trainer.teacherPredictor(output)!.predict(data, rows: rows, ctr: &ctr, cvr: &cvr)
            return (ctr, cvr)
        }
        let soft = scores(.softLabels), base = scores(.base)
        #expect(soft.ctr == base.ctr)
        for r in rows {
            if data.click[r] == 1 { #expect(soft.cvr[r] != base.cvr[r]) } else { #expect(soft.cvr[r] == base.cvr[r]) }
        }
        let esmm = try Trainer(
            schema: TestSupport.schema, configuration: TestSupport.smallConfiguration(.esmm, batchSize: 32))
        #expect(esmm.teacherPredictor(.base) == nil)
    }

    @Test func stateRoundTripResumesExactly() throws {
        let data = NetworkGradientTests.makeData()
        let configuration = TestSupport.smallConfiguration(.esdc, delay: .model, batchSize: 32)
        let original = try Trainer(schema: TestSupport.schema, configuration: configuration)
        original.step(data, rows: Array(0..<32))
        let path = TestSupport.temporaryDirectory("state") + "/state.ftrain"
        try TrainingStateFile.write(original, path: path)
        let resumed = try TrainingStateFile.read(path: path)
        #expect(resumed.steps == 1 && resumed.rowsSeen == 32)
        #expect(resumed.servingTensors().flatMap(\.values) == original.servingTensors().flatMap(\.values))
        // One more identical step on both keeps them identical (moments and step counts restored). The
        // dropout stream is part of the run, not the state, so reset both to the same seed first.
        original.teacher!.random = SplitMix64(seed: 5)
        resumed.teacher!.random = SplitMix64(seed: 5)
        original.step(data, rows: Array(32..<64))
        resumed.step(data, rows: Array(32..<64))
        #expect(resumed.servingTensors().flatMap(\.values) == original.servingTensors().flatMap(\.values))
        var corrupt = try Data(contentsOf: URL(fileURLWithPath: path))
        corrupt[0] = 0
        try corrupt.write(to: URL(fileURLWithPath: path))
        #expect(throws: DataError.self) { _ = try TrainingStateFile.read(path: path) }
    }

    /// ESDC's separate CTR network shares no tensor with the student, learns the click term only (its CVR tower
    /// stays as initialised), steps with the student, and the state keeps it with its optimizer. A state from before
    /// separate CTR networks (`auto`, no `ctr.` tensors) still loads, as the shared recipe it was.
    @Test func theSeparateCTRNetworkTrainsBesideTheStudent() throws {
        let data = NetworkGradientTests.makeData()
        let trainer = try Trainer(
            schema: TestSupport.schema,
            configuration: TestSupport.smallConfiguration(.esdc, delay: .model, batchSize: 32))
        let network = try #require(trainer.ctrNetwork)
        #expect(network.delayHead == nil)
        let studentBuffers = Set(trainer.student.tables.map { UInt(bitPattern: $0.value.pointer) })
        #expect(network.tables.allSatisfy { !studentBuffers.contains(UInt(bitPattern: $0.value.pointer)) })
        let before = network.namedValues()
        trainer.step(data, rows: Array(0..<32))
        #expect(trainer.ctrOptimizer.step == 1 && trainer.optimizer.step == 1)
        let after = network.namedValues()
        func changed(_ name: String) -> Bool { before.first { $0.0 == name }!.1 != after.first { $0.0 == name }!.1 }
        #expect(
            changed(NetworkShape.towerLogit(.ctr) + ".weight") && !changed(NetworkShape.towerLogit(.cvr) + ".weight"))

        let path = TestSupport.temporaryDirectory("separate") + "/state.ftrain"
        try TrainingStateFile.write(trainer, path: path)
        let resumed = try TrainingStateFile.read(path: path)
        #expect(resumed.ctrOptimizer == trainer.ctrOptimizer)
        #expect(resumed.servingTensors().flatMap(\.values) == trainer.servingTensors().flatMap(\.values))

        // The same state as an older version wrote it: no `ctr_network` key, no `ctr.` tensors.
        var shared = TestSupport.smallConfiguration(.esdc, delay: .model, batchSize: 32)
        shared.losses.ctrNetwork = .shared
        try TrainingStateFile.write(try Trainer(schema: TestSupport.schema, configuration: shared), path: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let length = bytes[8..<16].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let manifest = String(decoding: bytes[16..<16 + length], as: UTF8.self)
        #expect(manifest.contains(#""ctr_network":"shared""#))
        let old = Array(
            manifest.replacingOccurrences(of: #","ctr_network":"shared""#, with: "")
                .replacingOccurrences(of: #""ctr_network":"shared","#, with: "").utf8)
        #expect(old.count < length)
        bytes.replaceSubrange(
            8..<16 + length, with: withUnsafeBytes(of: UInt64(old.count).littleEndian, Array.init) + old)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let legacy = try TrainingStateFile.read(path: path)
        #expect(legacy.ctrNetwork == nil && legacy.configuration.losses.ctrNetwork == .shared)
    }

    /// After training, the serving networks' rows that no gradient reached hold their table's mean trained row
    /// (`EmbeddingTable.fillUntrainedRows`), and the summary counts them; the teacher, which is not served, keeps
    /// its random rows.
    @Test func untrainedEmbeddingRowsAreTheirTablesMeanAfterTraining() throws {
        var configuration = TestSupport.smallConfiguration(.esdc, delay: .model, batchSize: 32)
        configuration.calibration.method = .none
        let trainer = try Trainer(schema: TestSupport.schema, configuration: configuration)
        let summary = try trainer.train(file: NetworkGradientTests.makeFile())
        func untrained(_ table: EmbeddingTable) -> [Int] {
            (0..<table.rows).filter { row in
                (0..<table.dimension).allSatisfy { table.secondMoment.pointer[row * table.dimension + $0] == 0 }
            }
        }
        func row(_ table: EmbeddingTable, _ index: Int) -> [Float] {
            Array(table.values[index * table.dimension..<(index + 1) * table.dimension])
        }
        var counted = 0
        for table in trainer.student.tables + trainer.ctrNetwork!.tables {
            let rows = untrained(table)
            guard !rows.isEmpty, rows.count < table.rows else { continue }
            counted += rows.count
            let trained = Set(0..<table.rows).subtracting(rows)
            for j in 0..<table.dimension {
                let mean =
                    trained.reduce(0.0) { $0 + Double(table.values[$1 * table.dimension + j]) }
                    / Double(trained.count)
                #expect(abs(Double(row(table, rows[0])[j]) - mean) < 1e-5, "\(table.name)")
            }
            #expect(rows.allSatisfy { row(table, $0) == row(table, rows[0]) }, "\(table.name)")
        }
        #expect(counted > 0 && summary.untrainedEmbeddingRows == counted)
        let teacher = try #require(trainer.teacher)
        let teacherTable = try #require(teacher.tables.first { untrained($0).count > 1 })
        let rows = untrained(teacherTable)
        #expect(row(teacherTable, rows[0]) != row(teacherTable, rows[1]))
    }

    /// `naive` is the ESMM paper's BASE: two networks with no shared tensor, the CVR one stepped on clicked rows
    /// only; the state keeps both; a serving checkpoint cannot hold them.
    @Test func naiveTrainsTwoIndependentNetworks() throws {
        let data = NetworkGradientTests.makeData()
        let trainer = try Trainer(
            schema: TestSupport.schema,
            configuration: TestSupport.smallConfiguration(.naive, delay: .model, batchSize: 32))
        let cvr = try #require(trainer.cvrNetwork)
        #expect(trainer.student.delayHead == nil && cvr.delayHead != nil)
        let studentBuffers = Set(trainer.student.tables.map { UInt(bitPattern: $0.value.pointer) })
        #expect(cvr.tables.allSatisfy { !studentBuffers.contains(UInt(bitPattern: $0.value.pointer)) })
        let ctrBefore = trainer.student.namedValues(), cvrBefore = cvr.namedValues()
        trainer.step(data, rows: Array(0..<32))
        trainer.step(data, rows: Array(32..<64))
        #expect(trainer.cvrOptimizer.step == 2 && trainer.optimizer.step == 2)
        func changed(_ a: [(String, [Float])], _ b: [(String, [Float])], _ name: String) -> Bool {
            a.first { $0.0 == name }!.1 != b.first { $0.0 == name }!.1
        }
        let ctrLogit = NetworkShape.towerLogit(.ctr) + ".weight", cvrLogit = NetworkShape.towerLogit(.cvr) + ".weight"
        // Each network learns its own task only.
        #expect(
            changed(ctrBefore, trainer.student.namedValues(), ctrLogit)
                && !changed(ctrBefore, trainer.student.namedValues(), cvrLogit))
        #expect(changed(cvrBefore, cvr.namedValues(), cvrLogit) && !changed(cvrBefore, cvr.namedValues(), ctrLogit))
        // p_c from the CTR network, p_v from the CVR network.
        var ctr = [Float](repeating: 0, count: 64), pv = ctr, unused = ctr
        trainer.predictor.predict(data, rows: Array(0..<64), ctr: &ctr, cvr: &pv)
        var expected = ctr
        StudentPredictor(network: cvr).predict(data, rows: Array(0..<64), ctr: &unused, cvr: &expected)
        #expect(pv == expected)
        // The state round trip keeps both networks and the CVR network's optimizer.
        let path = TestSupport.temporaryDirectory("naive") + "/state.ftrain"
        try TrainingStateFile.write(trainer, path: path)
        let resumed = try TrainingStateFile.read(path: path)
        #expect(resumed.cvrOptimizer == trainer.cvrOptimizer)
        var ctr2 = ctr, pv2 = pv
        resumed.predictor.predict(data, rows: Array(0..<64), ctr: &ctr2, cvr: &pv2)
        #expect(ctr2 == ctr && pv2 == pv)
        #expect(throws: DataError.self) {
            _ = try CheckpointExporter(trainer: trainer).export(
                modelsDirectory: TestSupport.temporaryDirectory("models"), name: "naive", version: 1, sample: data)
        }
    }

    /// The schedules: lr at the first step, lr · final fraction at the last planned one; `train` plans over the file.
    @Test func learningRateSchedules() throws {
        var adam = with(AdamOptimizer()) {
            $0.learningRate = 0.01
            $0.schedule = .cosine
            $0.finalLearningRateFraction = 0.1
        }
        #expect(adam.learningRate(atStep: 5) == 0.01)  // not planned: constant
        adam.plan(totalSteps: 101)
        #expect(abs(adam.learningRate(atStep: 1) - 0.01) < 1e-12 && abs(adam.learningRate(atStep: 101) - 0.001) < 1e-12)
        #expect(abs(adam.learningRate(atStep: 51) - 0.0055) < 1e-12)
        #expect(abs(adam.learningRate(atStep: 500) - 0.001) < 1e-12)
        adam.schedule = .linear
        #expect(abs(adam.learningRate(atStep: 26) - 0.01 * (0.1 + 0.9 * 0.75)) < 1e-12)
        adam.schedule = .constant
        #expect(adam.learningRate(atStep: 101) == 0.01)
        let decoded = try StrictJSON.decode(
            TrainingConfiguration.self,
            from: Data(
                #"{"optimizer": {"learning_rate_schedule": "linear", "final_learning_rate_fraction": 0.2}}"#.utf8))
        #expect(decoded.optimizer.schedule == .linear && decoded.optimizer.finalLearningRateFraction == 0.2)
        var bad = TrainingConfiguration()
        bad.optimizer.finalLearningRateFraction = 1.5
        #expect(throws: SpecError.self) { try bad.validate() }

        var configuration = TestSupport.smallConfiguration(.esmm, delay: .model, batchSize: 16)
        configuration.shuffleWindow = 64
        configuration.optimizer.schedule = .cosine
        let trainer = try Trainer(schema: TestSupport.schema, configuration: configuration)
        let file = NetworkGradientTests.makeFile()
        let summary = try trainer.train(file: file)
        #expect(summary.steps == 4 && trainer.optimizer.plannedSteps == 4)
        #expect(abs(trainer.optimizer.learningRate(atStep: 4) - 0.1 * configuration.optimizer.learningRate) < 1e-12)
        // Resuming on more data extends the schedule to the new end.
        _ = try trainer.train(file: file)
        #expect(trainer.optimizer.plannedSteps == 8 && trainer.optimizer.step == 8)
    }

    @Test func lazyAdamUpdatesOnlyTouchedRows() {
        var random = SplitMix64(seed: 1)
        let table = EmbeddingTable(name: "t", rows: 4, dimension: 2, random: &random)
        let before = table.values
        var g: [Float] = [1, -1]
        table.accumulate(row: 2, weight: 1, &g)
        var adam = with(AdamOptimizer()) { $0.learningRate = 0.1 }
        adam.update(dense: [], tables: [table])
        let after = table.values
        #expect(Array(after[0..<4]) == Array(before[0..<4]) && Array(after[6..<8]) == Array(before[6..<8]))
        // First Adam step moves by ≈ lr · sign(g).
        #expect(abs((after[4] - before[4]) + 0.1) < 1e-3 && abs((after[5] - before[5]) - 0.1) < 1e-3)
    }

    /// The trainer records each continuous field's training range and the exported checkpoint carries it, so a serving
    /// value far outside it (thumbnail_score 87 on [0, 1]: once a probability of exactly 0) is clamped by the encoder.
    @Test func exportedModelsClipContinuousValuesToTheTrainingRange() throws {
        let (directory, schema) = TestSupport.smallWorld
        #expect(schema.features.fields.allSatisfy { $0.clip == nil })
        let trainer = try Trainer(schema: schema, configuration: TestSupport.smallConfiguration(.esmm))
        _ = try trainer.train(file: directory + "/train.csv")
        let data = try TrainingDataReader.readAll(path: directory + "/train.csv", schema: schema)
        let field = try #require(trainer.schema.features.fields.firstIndex { $0.name == "thumbnail_score" })
        let range = try #require(trainer.schema.features.fields[field].clip)
        // Exactly the range of the file: the extremes of the encoded (identity) column.
        let placement = data.layout.placements[field]
        let values = (0..<data.count).map { Double(data.slots(placement.block, row: $0).weights[placement.slotOffset]) }
        #expect(Float(range.lowerBound) == Float(values.min()!) && Float(range.upperBound) == Float(values.max()!))

        let models = TestSupport.temporaryDirectory("models")
        let exported = try CheckpointExporter(trainer: trainer).export(
            modelsDirectory: models, name: "student", version: 1, sample: data)
        let checkpoint = try Checkpoint(contentsOfFile: exported.path)
        let served = try #require(checkpoint.header.features.fields.first { $0.name == "thumbnail_score" })
        #expect(served.clip == range)
        let encoder = FeatureEncoder(spec: checkpoint.header.features)
        let servedField = try #require(encoder.field(named: "thumbnail_score"))
        var indices = [Int32](repeating: 0, count: encoder.layout.item.slotCount)
        var weights = [Float](repeating: 0, count: encoder.layout.item.slotCount)
        try encoder.encode(.double(87), field: servedField, indices: &indices, weights: &weights)
        #expect(weights[encoder.layout.placements[servedField].slotOffset] == Float(range.upperBound))
    }

    /// `quantile_buckets`: boundaries at the training data's quantiles, carried by the exported checkpoint, which
    /// serves the trained student exactly; an unresolved schema is refused.
    @Test func quantileBucketsAreFittedOnTheTrainingDataAndExported() throws {
        let (directory, base) = TestSupport.smallWorld
        var schema = base
        schema.quantileBuckets = ["item_rating": QuantileBuckets(buckets: 8, dimension: 3)]
        try schema.validate()
        #expect(throws: SpecError.self) {
            try Trainer(schema: schema, configuration: TestSupport.smallConfiguration(.esmm))
        }
        let resolved = try schema.resolvingQuantileBuckets(file: directory + "/train.csv")
        #expect(resolved.quantileBuckets.isEmpty)
        let field = try #require(resolved.features.fields.first { $0.name == "item_rating" })
        guard case .numeric(.bucketize(let boundaries)) = field.kind else {
            Issue.record("item_rating was not bucketized: \(field.kind)")
            return
        }
        #expect(boundaries.count == 7 && field.dimension == 3)
        // About an eighth of the rows in each bucket.
        let data = try TrainingDataReader.readAll(path: directory + "/train.csv", schema: resolved)
        let placement = data.layout.placements[resolved.features.fields.firstIndex { $0.name == "item_rating" }!]
        var counts = [Int](repeating: 0, count: 9)
        for row in 0..<data.count {
            counts[Int(data.slots(placement.block, row: row).indices[placement.slotOffset])] += 1
        }
        #expect(
            counts[0] == 0 && counts[1...].allSatisfy { abs(Double($0) / Double(data.count) - 0.125) < 0.02 },
            "\(counts)")

        let trainer = try Trainer(schema: resolved, configuration: TestSupport.smallConfiguration(.esmm))
        _ = try trainer.train(file: directory + "/train.csv")
        let exported = try CheckpointExporter(trainer: trainer).export(
            modelsDirectory: TestSupport.temporaryDirectory("models"), name: "student", version: 1, sample: data)
        #expect(exported.maxDifference <= 1e-5)
        let served = try Checkpoint(contentsOfFile: exported.path).header.features.fields.first {
            $0.name == "item_rating"
        }
        #expect(served?.kind == field.kind)

        var unknown = base
        unknown.quantileBuckets = ["user_id": QuantileBuckets(buckets: 8)]
        #expect(throws: SpecError.self) { try unknown.validate() }
    }
}
