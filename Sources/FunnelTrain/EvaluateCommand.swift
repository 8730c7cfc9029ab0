import ArgumentParser
import Ranking
import Training

extension TeacherPredictor.Output: ExpressibleByArgument {}

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a serving checkpoint or a training state on a held-out CSV (AUC, GAUC, logloss, PCOC).")

    @Option(help: "Held-out CSV.")
    var data: String

    @Option(help: "Serving checkpoint (model.fckpt) to evaluate through the serving network.")
    var checkpoint: String?

    @Option(help: "Training state to evaluate the trainer's student.")
    var state: String?

    @Option(
        help: """
            With --state of an ESDC model, evaluate its teacher instead of the student. soft-labels: p_v uses the \
            privileged features on clicked rows (what the student is distilled towards); base: the teacher's \
            serving-feature base CVR on every row.
            """)
    var teacher: TeacherPredictor.Output?

    @Option(help: "Schema JSON of the CSV (default: the training state's).")
    var schema: String?

    @Option(help: "Built-in schema: ali-ccp.")
    var format: String?

    @Option(help: "Truth file from simulate: adds the entire-space CVR AUC.")
    var truth: String?

    @Option(help: "GAUC groups: user or request.")
    var groupBy: String = "user"

    @Option(help: "Write the report JSON here.")
    var report: String?

    @Option(help: "Write every row's labels and predictions here, as CSV in the data file's order.")
    var predictions: String?

    @OptionGroup var reportOptions: ReportOptions

    /// Used with --state (the trainer's networks); a serving checkpoint is scored by the serving kernel.
    @OptionGroup var threadOptions: ThreadOptions

    /// Under `mpirun` each rank evaluates its share of the rows (by the GAUC's groups) and rank 0 prints and writes
    /// the figures of the whole file.
    func run() throws {
        let world = World.communicator()
        try run(in: world)
        world.barrier()
        (world as? MPICommunicator)?.finalize()
    }

    private func run(in world: any Communicator) throws {
        let predictor: any ConversionPredictor
        var delay: (any DelayPredictor)?
        var metadata: ReportMetadata
        var history: TrainingHistory?
        var delayNote = "A serving checkpoint has no delay tower: evaluate the training state (--state) for it."
        var schema: TrainingSchema?
        var served: FeatureSpec?
        if let state {
            let trainer = try TrainingStateFile.read(path: state)
            trainer.threads = threadOptions.threads
            if let teacher {
                guard let teacherPredictor = trainer.teacherPredictor(teacher) else {
                    throw ValidationError("--teacher: the training state is not an ESDC model")
                }
                predictor = teacherPredictor
            } else {
                predictor = trainer.predictor
            }
            delay = trainer.delayPredictor
            metadata = ReportMetadata(trainer: trainer)
            if let teacher { metadata.title += ", teacher output " + teacher.rawValue }
            history = trainer.history
            delayNote = ReportOptions.delayNote(trainer)
            schema = trainer.schema
            served = trainer.schema.features
        } else if teacher != nil {
            throw ValidationError("--teacher needs --state")
        } else if let checkpoint {
            let loaded = try Checkpoint(contentsOfFile: checkpoint)
            predictor = ServingPredictor(checkpoint: loaded)
            metadata = ReportMetadata(checkpoint: loaded.header, path: checkpoint)
            served = loaded.header.features
        } else {
            throw ValidationError("give --checkpoint or --state")
        }
        if self.schema != nil || format != nil || schema == nil {
            schema = try loadSchema(path: self.schema, format: format)
        }
        if let served {
            // Encode as the model was trained and is served: its own spec of every field (trained `clip` ranges,
            // quantile boundaries, the crosses the trainer added), in its order; the schema file only says which
            // column feeds each field and where the labels are.
            let names = Set(served.fields.map(\.name))
            schema!.features = FeatureSpec(
                hashSeed: served.hashSeed,
                fields: served.fields + schema!.features.fields.filter { !names.contains($0.name) })
            schema!.crosses = .none
        }
        var evaluator = Evaluator(schema: schema!)
        guard let grouping = Evaluator.Grouping(rawValue: groupBy) else {
            throw ValidationError("--group-by user or request")
        }
        evaluator.grouping = grouping
        if predictions != nil && world.size > 1 {
            throw ValidationError("--predictions writes the rows in file order from one process: run it without mpirun")
        }
        evaluator.communicator = world
        let evaluation = try evaluator.evaluate(
            predictor, file: data, truthFile: truth, delay: delay, predictionsFile: predictions)
        guard world.isRoot else { return }
        print(evaluation.table)
        if let report {
            try evaluation.write(path: report)
            print("wrote \(report)")
        }
        metadata.data = [("evaluated on", data), ("truth", truth ?? "–")]
        if let source = self.schema ?? format.map({ "built-in: " + $0 }) { metadata.data.append(("schema", source)) }
        try reportOptions.write(evaluation: evaluation, metadata: metadata, history: history, delayNote: delayNote)
    }
}
