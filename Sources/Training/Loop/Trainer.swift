import FoundationEssentials
import Ranking

/// The training loop: stream the file in shuffle windows, cut mini-batches, and per batch zero the
/// gradients → forward → losses → backward → Adam step → repack (llm.c's order). ESDC runs the teacher's
/// step first and hands the student detached soft labels.
public final class Trainer {
    /// As given, plus the `clip` range of each continuous numeric field, set from the first training file.
    public private(set) var schema: TrainingSchema
    public let configuration: TrainingConfiguration
    public let shape: NetworkShape
    let student: MultiTaskNetwork
    /// `naive` only: the standalone CVR network (own embeddings, bottom and towers; only its CVR logit is used),
    /// trained on the clicked rows of each mini-batch. `student` then learns CTR only.
    let cvrNetwork: MultiTaskNetwork?
    /// `ctr_network: separate`: the network that serves p_c (own embeddings, bottom and towers; only its CTR logit is
    /// used), trained on the click term of every row beside the student.
    let ctrNetwork: MultiTaskNetwork?
    let teacher: ESDCTeacher?
    var optimizer: AdamOptimizer
    var teacherOptimizer: AdamOptimizer
    var cvrOptimizer: AdamOptimizer
    var ctrOptimizer: AdamOptimizer
    let objective: StudentObjective
    public private(set) var rowsSeen = 0
    public private(set) var steps = 0
    /// The offsets of the last post-training calibration (already folded into the output biases).
    public internal(set) var calibration: CalibrationResult?
    /// Loss and running AUCs at each progress report, over every run (kept in the training state).
    public internal(set) var history = TrainingHistory()
    /// Steps with distillation weights 0 (ESDC); set from the file size at the start of `train`.
    public var warmUpSteps: Int
    private var random: SplitMix64

    /// Threads of every matrix product of this trainer's networks (training, calibration, evaluation through its
    /// predictors). The model does not depend on it (`GEMM`).
    public var threads: Int {
        didSet { handThreadsToNetworks() }
    }

    /// With `threads` threads for the matrix products (by default one per available core).
    public init(
        schema: TrainingSchema, configuration: TrainingConfiguration, threads: Int = Trainer.availableCores
    ) throws(SpecError) {
        guard threads >= 1 else { throw SpecError("threads must be at least 1") }
        try schema.validate()
        guard schema.quantileBuckets.isEmpty else {
            throw SpecError(
                "quantile_buckets must be resolved against the training data first (resolvingQuantileBuckets)")
        }
        guard schema.crosses == .none else {
            throw SpecError("crosses must be resolved against the training data first (resolvingCrosses)")
        }
        if let field = schema.features.fields.first(where: \.vocabularyToBuild) {
            throw SpecError(
                "vocabulary of '\(field.name)' must be built from the training data first (resolvingVocabularies)")
        }
        try configuration.validate()
        self.schema = schema
        self.configuration = configuration
        let serving = schema.servingFeatures
        shape = NetworkShape(features: serving, network: configuration.network)
        guard shape.layout.item.width > 0 else { throw SpecError("the schema has no item field") }
        let losses = configuration.losses
        let delayBuckets = losses.delay == .model && losses.model != .esdc ? schema.delay.count : nil
        let independent = losses.model == .naive
        // The student's layout must be the schema's (privileged fields only add a block after it).
        let trainingShape = NetworkShape(features: schema.features, network: configuration.network)
        student = MultiTaskNetwork(
            shape: trainingShape, capacity: configuration.batchSize, delayBuckets: independent ? nil : delayBuckets,
            delayHidden: configuration.delayHidden, seed: configuration.seed)
        cvrNetwork =
            independent
            ? MultiTaskNetwork(
                shape: trainingShape, capacity: configuration.batchSize, delayBuckets: delayBuckets,
                delayHidden: configuration.delayHidden, seed: configuration.seed &+ 211) : nil
        // Seeded as `naive`'s CTR network (so as the student): the recipe chosen on the validation worlds is exactly
        // that network beside the student.
        ctrNetwork =
            losses.usesSeparateCTRNetwork
            ? MultiTaskNetwork(
                shape: trainingShape, capacity: configuration.batchSize, delayBuckets: nil,
                delayHidden: configuration.delayHidden, seed: configuration.seed) : nil
        teacher =
            losses.model == .esdc
            ? ESDCTeacher(
                schema: schema, network: configuration.network, losses: losses, capacity: configuration.batchSize,
                delayHidden: configuration.delayHidden, seed: configuration.seed &+ 101) : nil
        optimizer = configuration.optimizer
        teacherOptimizer = configuration.optimizer
        cvrOptimizer = configuration.optimizer
        ctrOptimizer = configuration.optimizer
        objective = StudentObjective(configuration: losses, delay: schema.delay)
        warmUpSteps = losses.warmUpSteps
        random = SplitMix64(seed: configuration.seed &+ 7)
        self.threads = threads
        handThreadsToNetworks()  // `didSet` does not run in init
    }

    private func handThreadsToNetworks() {
        precondition(threads >= 1, "threads must be at least 1")
        for network in servingNetworks { network.threads = threads }
        teacher?.threads = threads
    }

    /// The cores this process may run on (its CPU affinity and cgroup quota): the default thread count.
    public static var availableCores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// The student as a predictor (for evaluation during or after training); for `naive`, p_c from the CTR
    /// network and p_v from the standalone CVR network; with a separate CTR network, the served combination.
    public var predictor: any ConversionPredictor {
        if let cvrNetwork { return PairPredictor.independent(ctr: student, cvr: cvrNetwork) }
        if let ctrNetwork { return PairPredictor.separateCTR(student: student, ctr: ctrNetwork) }
        return StudentPredictor(network: student)
    }

    /// The ESDC teacher as a predictor (nil for every other model).
    public func teacherPredictor(_ output: TeacherPredictor.Output) -> (any ConversionPredictor)? {
        teacher.map { TeacherPredictor(teacher: $0, output: output) }
    }

    /// The delay tower under `--delay model` (the ESDC teacher's, or the student's or `naive`'s CVR network's), for
    /// the report's delay fit; nil for every other delay handling.
    public var delayPredictor: (any DelayPredictor)? {
        guard configuration.losses.delay == .model else { return nil }
        if let teacher { return TeacherDelayPredictor(teacher: teacher) }
        return NetworkDelayPredictor(network: cvrNetwork ?? student, delayBuckets: schema.delay)
    }

    /// Whether the trained model is one serving checkpoint (every model but `naive`'s two networks).
    public var isExportable: Bool { cvrNetwork == nil }

    /// The world this trainer is one replica of (`World.communicator()`); a single process by default. Under MPI
    /// every rank trains on its shard of each file and the ranks' gradients are summed every step.
    public var communicator: any Communicator = SingleProcessCommunicator()

    /// One optimizer step on `batch` (indices into `data`); returns the student's (and teacher's) loss terms.
    /// `globalRows`: the step's rows on every rank (under MPI; this rank's `batch` may then be empty, and every rank
    /// still calls it, as each step's collectives need every rank).
    @discardableResult
    public func step(_ data: EncodedRows, rows batch: [Int], globalRows: Int? = nil) -> LossBreakdown {
        let exchange = GradientExchange(communicator: communicator)
        let total = globalRows ?? batch.count
        let share = total > 0 ? Float(batch.count) / Float(total) : 0
        var breakdown = LossBreakdown()
        var signals: TeacherSignals?
        if let teacher {
            teacher.zeroGradients()
            if !batch.isEmpty {
                teacher.forward(data, rows: batch, training: true)
                let teacherLoss = teacher.applyLoss(data, rows: batch)
                teacher.backward(data)
                for (name, value) in teacherLoss.terms { breakdown.add("teacher_" + name, value) }
            }
            exchange.synchronize(dense: teacher.denseParameters, tables: teacher.tables, share: share)
            teacherOptimizer.update(dense: teacher.denseParameters, tables: teacher.tables)
            teacher.refresh()
            let warm = steps >= warmUpSteps
            let teacherSignals = teacher.signals(
                data, rows: batch, distillationWeight: warm ? configuration.losses.distillationWeight : 0,
                ctrDistillationWeight: warm ? configuration.losses.ctrDistillationWeight : 0,
                sumOverRanks: communicator.sum)
            signals = batch.isEmpty ? nil : teacherSignals
        }
        student.zeroGradients()
        // Under MPI the student's losses divide by the global batch's sums (its terms are normalised by clicks,
        // conversions and distillation weights too, not only by rows), so the ranks' gradients simply add up.
        let totals =
            communicator.size > 1
            ? BatchTotals(objective, data, rows: batch, teacher: signals).summed(over: communicator) : nil
        if !batch.isEmpty {
            student.forward(data, rows: batch)
            let studentLoss = objective.apply(student, data, rows: batch, teacher: signals, totals: totals)
            student.backward(data)
            for (name, value) in studentLoss.terms { breakdown.add(name, value) }
        }
        exchange.synchronize(dense: student.denseParameters, tables: student.tables, share: 1)
        optimizer.update(dense: student.denseParameters, tables: student.tables)
        student.refresh()
        if let ctrNetwork {
            ctrNetwork.zeroGradients()
            if !batch.isEmpty {
                ctrNetwork.forward(data, rows: batch)
                let ctrLoss = objective.applyStandaloneCTR(ctrNetwork, data, rows: batch, of: Double(total))
                ctrNetwork.backward(data)
                for (name, value) in ctrLoss.terms { breakdown.add(name, value) }
            }
            exchange.synchronize(dense: ctrNetwork.denseParameters, tables: ctrNetwork.tables, share: 1)
            ctrOptimizer.update(dense: ctrNetwork.denseParameters, tables: ctrNetwork.tables)
            ctrNetwork.refresh()
        }
        if let cvrNetwork {
            let clicked = batch.filter { objective.selectedForClickedCVR(data, $0) }
            // Every rank steps the CVR network when some rank has a click (its term is a mean over the clicks).
            let globalClicked = communicator.size > 1 ? communicator.sum(clicked.count) : clicked.count
            if globalClicked > 0 {
                cvrNetwork.zeroGradients()
                if !clicked.isEmpty {
                    cvrNetwork.forward(data, rows: clicked)
                    let cvrLoss = objective.applyStandaloneCVR(cvrNetwork, data, rows: clicked)
                    cvrNetwork.backward(data)
                    for (name, value) in cvrLoss.terms { breakdown.add(name, value) }
                }
                exchange.synchronize(
                    dense: cvrNetwork.denseParameters, tables: cvrNetwork.tables,
                    share: Float(clicked.count) / Float(globalClicked))
                cvrOptimizer.update(dense: cvrNetwork.denseParameters, tables: cvrNetwork.tables)
                cvrNetwork.refresh()
            }
        }
        steps += 1
        rowsSeen += total
        return breakdown
    }

    /// Trains on `file` for `configuration.epochs` passes; every `progressEvery` steps records a history point and
    /// calls `progress` (by default every 50 steps, more often in runs under 5,000 steps so that even a short run
    /// has about a hundred points).
    public func train(
        file: String, policy: BadRowPolicy = .fail, progressEvery: Int? = nil,
        progress: ((TrainingProgress) -> Void)? = nil
    ) throws -> TrainingSummary {
        let shard = RequestShard(rank: communicator.rank, size: communicator.size)
        let records = try CSVReader.countRecords(path: file)
        // Rows from this position on (by good-row order) form the validation slice, never trained on.
        let validationStart =
            configuration.validationFraction > 0
            ? Int((Double(records) * (1 - configuration.validationFraction)).rounded(.down)) : Int.max
        let total = min(records, validationStart) * configuration.epochs
        let calibration = configuration.calibration
        // ≈: the held-out rows are known only while reading.
        let trained =
            calibration.isEnabled ? Int((Double(total) * (1 - calibration.holdoutFraction)).rounded(.up)) : total
        let plannedSteps = (trained + configuration.batchSize - 1) / configuration.batchSize
        let reportEvery = progressEvery ?? min(50, max(1, plannedSteps / 100))
        warmUpSteps = max(configuration.losses.warmUpSteps, plannedSteps / 10)
        if configuration.losses.model == .esdc { warmUpSteps = min(warmUpSteps, plannedSteps / 2) }
        // The learning-rate schedule ends with this file (a resumed run continues the decay over its new data).
        optimizer.plan(totalSteps: optimizer.step + plannedSteps)
        teacherOptimizer.plan(totalSteps: teacherOptimizer.step + plannedSteps)
        cvrOptimizer.plan(totalSteps: cvrOptimizer.step + plannedSteps)
        ctrOptimizer.plan(totalSteps: ctrOptimizer.step + plannedSteps)
        var summary = TrainingSummary()
        let started = ContinuousClock.now
        let rowsBefore = rowsSeen, stepsBefore = steps
        var emaLoss: Double?
        var ctrAUC = RunningAUC(window: 20_000), ctcvrAUC = RunningAUC(window: 20_000)
        var observedRanges: [ClosedRange<Double>?] = []
        var best: (score: Double, epoch: Int, weights: [[String: [Float]]])?
        for epoch in 1...configuration.epochs {
            let reader = try TrainingDataReader(path: file, schema: schema, policy: policy)
            let data = EncodedRows(layout: reader.layout, capacity: configuration.shuffleWindow)
            var ordinal = 0
            while try reader.read(into: data) {
                var order = Array(0..<data.count)
                if validationStart < Int.max { order.removeAll { ordinal + $0 >= validationStart } }
                if calibration.isEnabled, calibration.holdoutFraction > 0 {
                    order.removeAll {
                        calibration.isHeldOut(data, row: $0, ordinal: ordinal + $0, seed: configuration.seed)
                    }
                    summary.heldOutRows += data.count - order.count
                }
                let chunkStart = ordinal
                ordinal += data.count
                order.shuffle(using: &random)
                var start = 0
                while start < order.count {
                    let batch = Array(order[start..<min(start + configuration.batchSize, order.count)])
                    start += batch.count
                    // Every rank cuts the same global batches (same file, same shuffle) and trains on its rows of
                    // each: the ranks step together and their rows together are the single process's batch.
                    let mine = try shardRows(batch, of: data, from: chunkStart, shard: shard)
                    let breakdown = step(data, rows: mine, globalRows: batch.count)
                    // Running AUC from the forward pass of this step (predictions made before the update), on this
                    // rank's rows. (`naive`: no CTCVR figure, its CVR network scores only the clicked rows.)
                    for (r, row) in mine.enumerated() {
                        let pc = sigmoid(student.logits(.ctr)[r]), pv = sigmoid(student.logits(.cvr)[r])
                        let served = ctrNetwork.map { sigmoid($0.logits(.ctr)[r]) } ?? pc
                        ctrAUC.append(score: served, label: data.click[row])
                        if cvrNetwork == nil { ctcvrAUC.append(score: pc * pv, label: data.conversion[row]) }
                    }
                    if !mine.isEmpty {  // a rank with no rows in this batch has no loss of its own
                        let loss = breakdown.total
                        emaLoss = emaLoss.map { 0.95 * $0 + 0.05 * loss } ?? loss
                    }
                    if steps % reportEvery == 0 {
                        let figures = TrainingProgress(
                            step: steps, rows: rowsSeen, rowsThisRun: rowsSeen - rowsBefore,
                            plannedRowsThisRun: trained,
                            rowsPerSecond: Double(rowsSeen - rowsBefore) / max(Self.seconds(since: started), 1e-9),
                            loss: emaLoss ?? .nan, runningCTRAUC: ctrAUC.value, runningCTCVRAUC: ctcvrAUC.value,
                            terms: breakdown.terms)
                        history.record(figures.historyPoint)
                        progress?(figures)
                    }
                }
            }
            // Ids the training rows never showed are scored like a typical id, not through random rows; after every
            // epoch, so that the validation slice scores what would be served. Every epoch trains the same rows,
            // so a filled row is never trained later in this run.
            summary.untrainedEmbeddingRows = 0
            for network in servingNetworks {
                summary.untrainedEmbeddingRows += network.tables.reduce(0) { $0 + $1.fillUntrainedRows() }
                network.refresh()
            }
            // Per file, not per epoch: every epoch reads the same rows.
            observedRanges = reader.numericRanges
            summary.skippedRows = reader.skippedRows
            summary.corrections = reader.corrections
            summary.firstErrors = reader.firstErrors
            if validationStart < Int.max {
                let figures = try validationFigures(file: file, policy: policy, from: validationStart, epoch: epoch)
                summary.validation.append(figures)
                if figures.score > best?.score ?? -1 {
                    let weights = servingNetworks.map { Dictionary(uniqueKeysWithValues: $0.namedValues()) }
                    best = (figures.score, epoch, weights)
                } else if epoch - best!.epoch >= configuration.earlyStoppingPatience {
                    break
                }
            }
        }
        if let best {
            summary.chosenEpoch = best.epoch
            if best.epoch != summary.validation.last?.epoch {
                for (network, weights) in zip(servingNetworks, best.weights) { try network.load(weights) }
            }
        }
        // This run's rows and steps (a resumed state has trained others before); throughput is the training loop's,
        // the calibration pass is timed on its own.
        summary.rows = rowsSeen - rowsBefore
        summary.steps = steps - stepsBefore
        summary.seconds = Self.seconds(since: started)
        summary.rowsPerSecond = Double(summary.rows) / max(summary.seconds, 1e-9)
        // The model is served with the value ranges it was trained on (`FieldSpec.clip`); set once, by the first file,
        // for fields the schema gives no range.
        for (field, range) in observedRanges.enumerated() where schema.features.fields[field].clip == nil {
            schema.features.fields[field].clip = range
        }
        if calibration.isEnabled {
            let calibrationStarted = ContinuousClock.now
            self.calibration = try calibrate(file: file, policy: policy)
            summary.calibration = self.calibration
            summary.calibrationSeconds = Self.seconds(since: calibrationStarted)
        }
        summary.finalLoss = emaLoss ?? .nan
        summary.runningCTRAUC = ctrAUC.value
        return summary
    }

    /// This rank's rows of the global batch `batch` (all of them in a world of one), checked against the other ranks':
    /// together they must be the whole batch, or the ranks read different data and would step out of line.
    private func shardRows(_ batch: [Int], of data: EncodedRows, from chunkStart: Int, shard: RequestShard) throws
        -> [Int]
    {
        guard shard.size > 1 else { return batch }
        let mine = batch.filter { shard.keeps(data, row: $0, ordinal: chunkStart + $0) }
        let total = communicator.sum(mine.count)
        guard total == batch.count else {
            throw SpecError(
                "the \(shard.size) MPI ranks hold \(total) rows of a \(batch.count)-row batch: "
                    + "they read different data")
        }
        return mine
    }

    /// The networks whose weights make the predictions: the student, `naive`'s CVR network, the separate CTR network.
    private var servingNetworks: [MultiTaskNetwork] { [student] + [cvrNetwork, ctrNetwork].compactMap { $0 } }

    /// Rows each calibration sample (CTR rows, click rows, entire-space rows) keeps: beyond it the fit runs on a
    /// seeded uniform reservoir sample, so its memory is bounded (≈ 80 MiB at most) whatever the file's size; below
    /// it, on every row, exactly as without sampling.
    static let calibrationSampleRows = 1 << 20

    /// Fits the per-task logit offsets on the held-out rows of `file` (every row with `holdout_fraction` 0) with
    /// the trained model and adds them to the output biases of the networks that serve p_c and p_v
    /// (`Calibration.swift`). Past `calibrationSampleRows` rows of a kind the fit runs on a reservoir sample of them,
    /// each sampled sum weighted by the rows it stands for, so the click-space and entire-space terms keep their
    /// proportions.
    func calibrate(file: String, policy: BadRowPolicy, sampleRows: Int = calibrationSampleRows) throws
        -> CalibrationResult
    {
        let calibration = configuration.calibration
        let delay = configuration.losses.delay
        let cvrSource = cvrNetwork ?? student
        let entireSpace = configuration.losses.model.hasEntireSpaceTerm
        let reader = try TrainingDataReader(path: file, schema: schema, policy: policy)
        let data = EncodedRows(layout: reader.layout, capacity: configuration.shuffleWindow)
        let seed = configuration.seed
        var ctrRows = ReservoirSample<OffsetFit.CTRRow>(capacity: sampleRows, seed: seed &+ 31)
        var clickRows = ReservoirSample<OffsetFit.ClickRow>(capacity: sampleRows, seed: seed &+ 37)
        var entireSpaceRows = ReservoirSample<OffsetFit.EntireSpaceRow>(capacity: sampleRows, seed: seed &+ 41)
        var ctrNetworkRows = ReservoirSample<OffsetFit.CTRRow>(capacity: sampleRows, seed: seed &+ 43)
        var conversions = 0, ordinal = 0
        var batchCTRLogits: [Double] = []
        while try reader.read(into: data) {
            let held =
                calibration.holdoutFraction > 0
                ? (0..<data.count).filter {
                    calibration.isHeldOut(data, row: $0, ordinal: ordinal + $0, seed: configuration.seed)
                }
                : Array(0..<data.count)
            ordinal += data.count
            var start = 0
            while start < held.count {
                let batch = Array(held[start..<min(start + configuration.batchSize, held.count)])
                start += batch.count
                student.forward(data, rows: batch)
                batchCTRLogits = batch.indices.map { Double(student.logits(.ctr)[$0]) }
                for (r, row) in batch.enumerated() {
                    ctrRows.offer(OffsetFit.CTRRow(logit: batchCTRLogits[r], label: Double(data.click[row])))
                }
                if let ctrNetwork {
                    ctrNetwork.forward(data, rows: batch)
                    for (r, row) in batch.enumerated() {
                        ctrNetworkRows.offer(
                            OffsetFit.CTRRow(logit: Double(ctrNetwork.logits(.ctr)[r]), label: Double(data.click[row])))
                    }
                }
                // p_v is needed on the clicks, and on every row for a model with an entire-space term.
                let scored = entireSpace ? batch : batch.filter { data.click[$0] == 1 }
                guard !scored.isEmpty else { continue }
                if cvrSource !== student || scored.count != batch.count { cvrSource.forward(data, rows: scored) }
                var visible: [Double]?
                if delay == .model {
                    if let hazards = cvrSource.delayLogits {
                        visible = schema.delay.visibleFractions(UnsafePointer(hazards), data, rows: scored)
                    } else if let teacher {
                        teacher.forward(data, rows: scored, training: false)
                        visible = teacher.visibleFractions(data, rows: scored)
                    }
                }
                for (r, row) in scored.enumerated() {
                    let cvrLogit = Double(cvrSource.logits(.cvr)[r])
                    if entireSpace,
                        let entry = entireSpaceRow(
                            data, row: row, ctrLogit: batchCTRLogits[r], cvrLogit: cvrLogit,
                            visible: visible?[r])
                    {
                        entireSpaceRows.offer(entry)
                    }
                    guard data.click[row] == 1 else { continue }
                    clickRows.offer(
                        OffsetFit.ClickRow(
                            logit: cvrLogit, converted: data.conversion[row] == 1,
                            elapsedHours: Double(data.elapsedHours[row]), visible: visible?[r] ?? 1))
                    conversions += data.conversion[row] == 1 ? 1 : 0
                }
            }
        }
        // CTR: the offset for slope 1 (or for every slope tried, under Platt scaling).
        // (A common weight on the CTR rows would not move their minimum: the sample is fitted as it is.)
        let platt = calibration.method == .platt
        func ctrFit(_ rows: [OffsetFit.CTRRow]) -> (slope: Double, offset: Double) {
            let labels = rows.map(\.label)
            func fit(slope a: Double) -> (offset: Double, loss: Double) {
                let scaled = rows.map { a * $0.logit }
                let b = OffsetFit.minimise { OffsetFit.ctr(logits: scaled, labels: labels, offset: $0) } ?? 0
                return (b, OffsetFit.ctr(logits: scaled, labels: labels, offset: b).loss)
            }
            let slope = platt ? OffsetFit.bestSlope { fit(slope: $0).loss } : 1
            return (slope, fit(slope: slope).offset)
        }
        let (ctrSlope, ctrOffset) = ctrFit(ctrRows.elements)
        // CVR: click-space plus (entire-space models) the CTCVR likelihood, with p_c already calibrated. Beside a
        // separate CTR network the student's own p_v is never served (pCVR = pCTCVR / p̂_c, `Prediction`): the fit
        // is then the served pCTCVR's alone, on every impression, and pCVR's level follows from it.
        let clickWeight = entireSpace && ctrNetwork != nil ? 0 : clickRows.weight
        let calibratedRows = entireSpaceRows.elements.map { row in
            var row = row
            row.ctrLogit = ctrSlope * row.ctrLogit + ctrOffset
            return row
        }
        func cvrFit(slope a: Double) -> (offset: Double, loss: Double) {
            let clicks = clickRows.elements.map { row in
                var row = row
                row.logit *= a
                return row
            }
            let products = calibratedRows.map { row in
                var row = row
                row.cvrLogit *= a
                return row
            }
            func joint(_ b: Double) -> (loss: Double, derivative: Double) {
                OffsetFit.joint(
                    clicks: clicks, clickWeight: clickWeight, entireSpace: products,
                    entireSpaceWeight: entireSpaceRows.weight, offset: b, delay: delay, buckets: self.schema.delay)
            }
            let b = OffsetFit.minimise(joint) ?? 0
            return (b, joint(b).loss)
        }
        let cvrSlope = platt ? OffsetFit.bestSlope { cvrFit(slope: $0).loss } : 1
        let cvrOffset = cvrFit(slope: cvrSlope).offset
        Self.transformOutput(student, .ctr, slope: ctrSlope, offset: ctrOffset)
        Self.transformOutput(cvrSource, .cvr, slope: cvrSlope, offset: cvrOffset)
        var result = CalibrationResult(
            ctrOffset: ctrOffset, cvrOffset: cvrOffset, ctrSlope: ctrSlope, cvrSlope: cvrSlope, rows: ctrRows.seen,
            clicks: clickRows.seen, conversions: conversions)
        if let ctrNetwork {
            let (slope, offset) = ctrFit(ctrNetworkRows.elements)
            Self.transformOutput(ctrNetwork, .ctr, slope: slope, offset: offset)
            (result.ctrNetworkSlope, result.ctrNetworkOffset) = (slope, offset)
        }
        return result
    }

    /// Row `row`'s entry in the entire-space CTCVR fit, with the delay handling of `StudentObjective.entireSpaceTerm`:
    /// nil when that term leaves the row out (mature-only: window open; an immature unconverted click with no F(e)).
    func entireSpaceRow(_ data: EncodedRows, row: Int, ctrLogit: Double, cvrLogit: Double, visible: Double?)
        -> OffsetFit.EntireSpaceRow?
    {
        let label = EntireSpaceLikelihood.Label(
            data, row: row, delay: configuration.losses.delay, window: schema.delay.attributionWindowHours)
        let converted = data.conversion[row] == 1
        guard let fraction = label.visible(known: visible, clicked: data.click[row] == 1) else { return nil }
        return OffsetFit.EntireSpaceRow(ctrLogit: ctrLogit, cvrLogit: cvrLogit, converted: converted, visible: fraction)
    }

    /// Makes task `task`'s logit `slope · logit + offset` in every later forward pass (and in the exported
    /// checkpoint): the output layer's weights (and the task's wide column) scaled, its bias scaled and shifted.
    static func transformOutput(_ network: MultiTaskNetwork, _ task: PredictionTask, slope: Double, offset: Double) {
        let name = NetworkShape.towerLogit(task)
        guard let bias = network.denseParameters.first(where: { $0.name == name + ".bias" }),
            let weight = network.denseParameters.first(where: { $0.name == name + ".weight" })
        else { preconditionFailure("no output layer for \(task)") }
        if slope != 1 {
            for i in 0..<weight.count { weight.value.pointer[i] *= Float(slope) }
            for table in network.wide?.bags.tables ?? [] {
                for row in 0..<table.rows { table.value.pointer[row * 2 + task.rawValue] *= Float(slope) }
            }
        }
        bias.value.pointer[0] = Float(slope) * bias.value.pointer[0] + Float(offset)
        network.refresh()
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        (ContinuousClock.now - start) / .seconds(1)
    }

    /// Continues from a saved state (after its tensors were loaded).
    func restore(
        steps: Int, rowsSeen: Int, optimizer: AdamOptimizer, teacherOptimizer: AdamOptimizer,
        cvrOptimizer: AdamOptimizer?, ctrOptimizer: AdamOptimizer?
    ) {
        self.steps = steps
        self.rowsSeen = rowsSeen
        self.optimizer = optimizer
        self.teacherOptimizer = teacherOptimizer
        if let cvrOptimizer { self.cvrOptimizer = cvrOptimizer }
        if let ctrOptimizer { self.ctrOptimizer = ctrOptimizer }
        student.refresh()
        teacher?.refresh()
        cvrNetwork?.refresh()
        ctrNetwork?.refresh()
    }

    /// The wiring of the separate CTR network the export holds (`CheckpointHeader.ctrNetwork`), or nil.
    public var ctrNetworkSpec: NetworkSpec? { ctrNetwork.map { _ in configuration.network } }

    /// The serving tensors in checkpoint order: the student's (`NetworkShape` order), then the separate CTR
    /// network's under `NetworkShape.ctrNetworkPrefix`.
    public func servingTensors() -> [CheckpointWriter.Tensor] {
        func named(_ network: MultiTaskNetwork, _ shape: NetworkShape) -> [CheckpointWriter.Tensor] {
            zip(network.servingTensors(), shape.tensors).map {
                CheckpointWriter.Tensor(name: $1.name, shape: $1.shape, values: $0.values)
            }
        }
        var tensors = named(student, shape)
        if let ctrNetwork {
            let prefixed = NetworkShape(
                features: shape.features, network: shape.network, tensorPrefix: NetworkShape.ctrNetworkPrefix)
            tensors += named(ctrNetwork, prefixed)
        }
        return tensors
    }
}
