import ArgumentParser
import Ranking
import Training

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on a CSV (one epoch by default) and save a resumable training state.")

    @Option(help: "Training CSV with a header.")
    var data: String

    @Option(help: "Schema JSON mapping columns to features and labels (docs/TRAINING.md).")
    var schema: String?

    @Option(help: "Built-in schema instead of --schema: ali-ccp (torch-rechub Ali-CCP CSV).")
    var format: String?

    @Option(help: "Training configuration JSON (network, losses, optimizer, batching); flags below override it.")
    var config: String?

    @Option(help: "Model: naive (independent CTR and CVR networks), naive-shared, esmm, escm2-ips or esdc (default).")
    var model: String?

    @Option(
        help: """
            Unconverted immature clicks: ignore, mature-only or model (default when the schema has snapshot and click \
            times; ignore otherwise).
            """)
    var delay: String?

    @Option(
        help: """
            Where pCTR comes from: separate (a CTR-only network beside the student; pCTCVR stays the student's), \
            shared (the student's CTR tower) or auto (default: separate for esdc, shared otherwise).
            """)
    var ctrNetwork: String?

    @Option(help: "Seed of initialisation, shuffling and dropout.")
    var seed: UInt64?

    @Option(help: "Rows per mini-batch (under mpirun: the global batch, split over the ranks by request).")
    var batchSize: Int?

    @Option(help: "Passes over the data (1 recommended: the one-epoch finding).")
    var epochs: Int?

    @Option(help: "Bad rows: fail (stop with file:line:column) or skip (count and continue).")
    var badRows: BadRowPolicy = .fail

    @Option(help: "Where to write the training state (resumable; read by evaluate and export).")
    var state: String

    @Option(help: "Continue from this training state instead of starting fresh.")
    var resume: String?

    @Option(help: "Held-out CSV to evaluate the student on after training.")
    var test: String?

    @Option(help: "Truth file of the held-out CSV (simulated data): adds the entire-space CVR AUC.")
    var truth: String?

    @Option(help: "Write the evaluation report JSON here.")
    var report: String?

    @OptionGroup var reportOptions: ReportOptions

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if reportOptions.html != nil && test == nil {
            throw ValidationError("--html needs --test (the held-out CSV the report evaluates on)")
        }
    }

    /// Under `mpirun` every rank runs this command on its shard of the data; rank 0 alone prints and writes files,
    /// and the other ranks wait for it before they end. (A rank that fails ends without finalising MPI, and `mpirun`
    /// then stops the others.)
    func run() throws {
        let world = World.communicator()
        try run(in: world)
        world.barrier()
        (world as? MPICommunicator)?.finalize()
    }

    private func run(in world: any Communicator) throws {
        func say(_ line: String) { if world.isRoot { print(line) } }
        let trainer: Trainer
        if let resume {
            trainer = try TrainingStateFile.read(path: resume)
            trainer.threads = threadOptions.threads
        } else {
            let schema = try loadSchema(path: schema, format: format).resolvingQuantileBuckets(file: data)
                .resolvingVocabularies(file: data, log: say).resolvingCrosses(file: data, log: say)
            var configuration = try config.map { try TrainingConfiguration.load(path: $0) } ?? TrainingConfiguration()
            if let model {
                guard let value = LossConfiguration.Model(rawValue: model) else {
                    throw ValidationError("unknown --model \(model)")
                }
                configuration.losses.model = value
            }
            if let delay {
                guard let value = LossConfiguration.DelayHandling(rawValue: delay) else {
                    throw ValidationError("unknown --delay \(delay)")
                }
                configuration.losses.delay = value
            }
            if let ctrNetwork {
                guard let value = LossConfiguration.CTRNetwork(rawValue: ctrNetwork) else {
                    throw ValidationError("unknown --ctr-network \(ctrNetwork)")
                }
                configuration.losses.ctrNetwork = value
            }
            if configuration.losses.delay != .ignore && !schema.hasDelayTimes {
                guard delay == nil else {
                    throw ValidationError("--delay \(delay!) needs snapshot_time and click_time columns in the schema")
                }
                // The default recipe models delays; without the times it has nothing to model.
                configuration.losses.delay = .ignore
            }
            if let seed { configuration.seed = seed }
            if let batchSize { configuration.batchSize = batchSize }
            if let epochs { configuration.epochs = epochs }
            if configuration.epochs > 1 {
                say(
                    "warning: \(configuration.epochs) epochs; deep CTR models usually overfit from the second epoch on")
            }
            trainer = try Trainer(schema: schema, configuration: configuration, threads: threadOptions.threads)
        }
        trainer.communicator = world
        let losses = trainer.configuration.losses
        let ranks = world.size > 1 ? ", \(world.size) MPI ranks" : ""
        say(
            "training \(losses.model.rawValue) (delay: \(losses.delay.rawValue)"
                + (losses.usesSeparateCTRNetwork ? ", separate CTR network" : "")
                + ") on \(data), \(trainer.threads) threads" + ranks)
        let display = ProgressDisplay()
        let summary = try trainer.train(file: data, policy: badRows) { if world.isRoot { display.show($0) } }
        display.finish()
        // The replicas hold the same model: rank 0 alone prints and writes the state, the report and the HTML.
        if world.isRoot {
            show(summary)
            try TrainingStateFile.write(trainer, path: state)
            print("wrote training state \(state)")
        }
        guard let test else { return }
        // Every rank evaluates its share of the test rows; the figures are reduced over the ranks.
        var evaluator = Evaluator(schema: trainer.schema)
        evaluator.communicator = world
        let evaluation = try evaluator.evaluate(
            trainer.predictor, file: test, truthFile: truth, delay: trainer.delayPredictor)
        guard world.isRoot else { return }
        print(evaluation.table)
        if let report { try evaluation.write(path: report) }
        var metadata = ReportMetadata(trainer: trainer)
        metadata.data = [
            ("training data", data), ("evaluated on", test), ("truth", truth ?? "–"), ("state", state),
        ]
        metadata.data.append(("schema", schema ?? format.map { "built-in: " + $0 } ?? "the resumed state's"))
        try reportOptions.write(
            evaluation: evaluation, metadata: metadata, history: trainer.history,
            delayNote: ReportOptions.delayNote(trainer))
    }

    /// The training summary's lines.
    private func show(_ summary: TrainingSummary) {
        print(
            "trained \(summary.rows) rows in \(Double(Int(summary.seconds * 10)) / 10) s: "
                + "\(Int(summary.rowsPerSecond)) rows/s, \(summary.steps) steps, skipped \(summary.skippedRows) bad rows"
        )
        for error in summary.firstErrors { print("  skipped: \(error)") }
        for figures in summary.validation {
            let (ctr, ctcvr) = ((figures.ctrAUC * 1e4).rounded() / 1e4, (figures.ctcvrAUC * 1e4).rounded() / 1e4)
            print(
                "validation after epoch \(figures.epoch) (\(figures.rows) last rows): "
                    + "CTR AUC \(ctr), CTCVR AUC \(ctcvr)")
        }
        if let epoch = summary.chosenEpoch { print("kept the weights of epoch \(epoch)") }
        if summary.corrections.total > 0 { print("labels as of the snapshot: \(summary.corrections.description)") }
        if summary.untrainedEmbeddingRows > 0 {
            print(
                "\(summary.untrainedEmbeddingRows) embedding rows were never trained (ids or buckets absent from the "
                    + "data): set to their table's mean trained row")
        }
        if let calibration = summary.calibration {
            print(
                "calibrated on \(calibration.rows) \(summary.heldOutRows > 0 ? "held-out" : "training") rows "
                    + "(\(calibration.clicks) clicks, \(calibration.conversions) "
                    + "conversions) in \(Double(Int(summary.calibrationSeconds * 10)) / 10) s: logit offsets CTR "
                    + "\(calibration.ctrOffset), CVR \(calibration.cvrOffset)"
                    + (calibration.ctrNetworkOffset.map { ", separate CTR network \($0)" } ?? ""))
        }
    }
}

/// The two schema sources: a JSON file or a built-in format.
func loadSchema(path: String?, format: String?) throws -> TrainingSchema {
    switch (path, format) {
    case (let path?, nil): return try TrainingSchema.load(path: path)
    case (nil, "ali-ccp"): return AliCCPFormat.schema()
    case (nil, let other?): throw ValidationError("unknown --format \(other) (known: ali-ccp)")
    default: throw ValidationError("give --schema or --format")
    }
}

extension BadRowPolicy: ExpressibleByArgument {}
