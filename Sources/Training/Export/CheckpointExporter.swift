import Ranking

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes the frozen student as a serving checkpoint into `models/<name>/<version>/model.fckpt` (atomically,
/// via `CheckpointWriter`), reloads it through the validating loader and checks that the serving network
/// reproduces the trainer's student outputs on sample rows.
public struct CheckpointExporter {
    public struct Result: Sendable {
        public var path: String
        public var bytes: Int
        public var sampleRows: Int
        /// max |serving − trainer| over the sample's pCTR and pCVR.
        public var maxDifference: Float
    }

    public static let tolerance: Float = 1e-5

    public let trainer: Trainer

    public init(trainer: Trainer) { self.trainer = trainer }

    public func header(name: String, version: Int, metrics: [String: Double] = [:]) -> CheckpointHeader {
        let features = trainer.schema.servingFeatures
        let price = features.fields.first { $0.name == "price" && $0.group == .item }
        return CheckpointHeader(
            model: ModelIdentity(name: name, version: version), features: features,
            network: trainer.configuration.network, ctrNetwork: trainer.ctrNetworkSpec,
            score: ScoreFormula(priceField: price?.name),
            training: TrainingMetadata(
                producer: "funnel-train export (\(trainer.configuration.losses.model.rawValue))",
                seed: trainer.configuration.seed,
                rows: trainer.rowsSeen, metrics: metrics))
    }

    /// Exports and verifies on `sample` (all its rows, up to 4096). Throws when parity fails.
    public func export(
        modelsDirectory: String, name: String, version: Int, sample: EncodedRows, metrics: [String: Double] = [:]
    ) throws -> Result {
        guard trainer.isExportable else {
            throw DataError(
                file: "\(modelsDirectory)/\(name)/\(version)", line: 0, column: nil,
                message:
                    "model naive trains two independent networks (the ESMM paper's BASE), which one serving checkpoint "
                    + "cannot hold; export naive-shared, esmm, escm2-ips or esdc")
        }
        let header = header(name: name, version: version, metrics: metrics)
        try header.validate()
        let directory = "\(modelsDirectory)/\(name)/\(version)"
        try Self.makeDirectories(directory)
        let path = directory + "/model.fckpt"
        try CheckpointWriter(header: header, tensors: trainer.servingTensors()).write(toFile: path)
        let checkpoint = try Checkpoint(contentsOfFile: path)
        let difference = Self.maxDifference(trainer.predictor, ServingPredictor(checkpoint: checkpoint), sample)
        guard difference <= Self.tolerance else {
            throw DataError(
                file: path, line: 0, column: nil,
                message: "serving network differs from the trainer by \(difference) (> \(Self.tolerance)) on the sample"
            )
        }
        return Result(
            path: path, bytes: checkpoint.byteCount, sampleRows: min(sample.count, 4096), maxDifference: difference)
    }

    /// max over rows of |a − b| for pCTR and pCVR.
    public static func maxDifference(_ a: any ConversionPredictor, _ b: any ConversionPredictor, _ sample: EncodedRows)
        -> Float
    {
        let rows = Array(0..<min(sample.count, 4096))
        var ctrA = [Float](repeating: 0, count: rows.count), cvrA = ctrA, ctrB = ctrA, cvrB = ctrA
        a.predict(sample, rows: rows, ctr: &ctrA, cvr: &cvrA)
        b.predict(sample, rows: rows, ctr: &ctrB, cvr: &cvrB)
        var worst: Float = 0
        for i in rows.indices { worst = max(worst, abs(ctrA[i] - ctrB[i]), abs(cvrA[i] - cvrB[i])) }
        return worst
    }

    static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0, errno != EEXIST {
                throw DataError(
                    file: current, line: 0, column: nil,
                    message: "cannot create directory: \(String(cString: strerror(errno)))")
            }
        }
    }
}
