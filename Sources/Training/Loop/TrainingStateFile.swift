import FoundationEssentials
import Ranking

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A resumable training state: schema, configuration, counters, and every tensor with its Adam moments.
/// Layout: magic `FNLTRAIN`, u64 little-endian JSON length, the JSON `Manifest`, then each listed tensor's
/// floats (little-endian f32) in manifest order. Written atomically (`AtomicFile`).
public enum TrainingStateFile {
    static let magic = Array("FNLTRAIN".utf8)

    /// Keys a state written by an older version lacks take their defaults (`StrictJSON.filled`).
    struct Manifest: EveryKeyOptional {
        var schema = TrainingSchema()
        var configuration = TrainingConfiguration()
        var steps = 0
        var rowsSeen = 0
        var optimizer = AdamOptimizer()
        var teacherOptimizer = AdamOptimizer()
        /// `naive`'s standalone CVR network (written for every model, so an older state's object is filled too).
        var cvrOptimizer = AdamOptimizer()
        /// The separate CTR network's (likewise written for every model).
        var ctrOptimizer = AdamOptimizer()
        /// The last post-training calibration (its offsets are in the tensors already).
        var calibration: CalibrationResult?
        /// Loss and running AUCs over training (absent from states written before it was kept).
        var history: TrainingHistory?
        var tensors: [TensorEntry] = []

        private enum CodingKeys: String, CodingKey {
            case schema, configuration, steps, optimizer, tensors
            case rowsSeen = "rows_seen"
            case teacherOptimizer = "teacher_optimizer"
            case cvrOptimizer = "cvr_optimizer"
            case ctrOptimizer = "ctr_optimizer"
            case calibration, history
        }
    }

    struct TensorEntry: Codable {
        var name: String
        var count: Int
    }

    /// Tensors and moments of the student (`student.`), the teacher (`teacher.`), `naive`'s CVR network (`cvr.`) and
    /// the separate CTR network (`ctr.`).
    static func buffers(_ trainer: Trainer) -> [(String, UnsafeMutablePointer<Float>, Int)] {
        var all: [(String, UnsafeMutablePointer<Float>, Int)] = []
        func add(_ prefix: String, _ tables: [EmbeddingTable], _ dense: [Parameter]) {
            for t in tables {
                all += [
                    (prefix + t.name, t.value.pointer, t.count),
                    (prefix + t.name + "#m", t.firstMoment.pointer, t.count),
                    (prefix + t.name + "#v", t.secondMoment.pointer, t.count),
                ]
            }
            for p in dense {
                all += [
                    (prefix + p.name, p.value.pointer, p.count),
                    (prefix + p.name + "#m", p.firstMoment.pointer, p.count),
                    (prefix + p.name + "#v", p.secondMoment.pointer, p.count),
                ]
            }
        }
        add("student.", trainer.student.tables, trainer.student.denseParameters)
        if let teacher = trainer.teacher { add("teacher.", teacher.tables, teacher.denseParameters) }
        if let cvr = trainer.cvrNetwork { add("cvr.", cvr.tables, cvr.denseParameters) }
        if let ctr = trainer.ctrNetwork { add("ctr.", ctr.tables, ctr.denseParameters) }
        return all
    }

    public static func write(_ trainer: Trainer, path: String) throws {
        let buffers = buffers(trainer)
        let manifest = Manifest(
            schema: trainer.schema, configuration: trainer.configuration, steps: trainer.steps,
            rowsSeen: trainer.rowsSeen,
            optimizer: trainer.optimizer, teacherOptimizer: trainer.teacherOptimizer,
            cvrOptimizer: trainer.cvrOptimizer, ctrOptimizer: trainer.ctrOptimizer, calibration: trainer.calibration,
            history: trainer.history, tensors: buffers.map { TensorEntry(name: $0.0, count: $0.2) })
        let json = Array(try JSONEncoder().encode(manifest))
        var prefix = magic
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { prefix.append(contentsOf: $0) }
        prefix += json
        do {
            try AtomicFile.write(to: path) { sink in
                try sink.write(prefix)
                for (_, pointer, count) in buffers {
                    try sink.write(UnsafeRawBufferPointer(start: pointer, count: count * MemoryLayout<Float>.stride))
                }
            }
        } catch let error as AtomicFile.WriteError {
            throw DataError(
                file: error.path, line: 0, column: nil, message: "cannot write training state: \(error.message)")
        }
    }

    /// Rebuilds a trainer from a state file (to resume training, evaluate or export).
    public static func read(path: String) throws -> Trainer {
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw DataError(file: path, line: 0, column: nil, message: "cannot read training state: \(error)")
        }
        func fail(_ message: String) -> DataError { DataError(file: path, line: 0, column: nil, message: message) }
        guard bytes.count >= 16, Array(bytes[0..<8]) == magic else {
            throw fail("not a funnel training state (bad magic)")
        }
        let length = bytes[8..<16].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard 16 + length <= bytes.count else { throw fail("truncated manifest") }
        var manifest = try StrictJSON.filled(Manifest.self, from: Data(bytes[16..<16 + length]))
        // A state saved before separate CTR networks existed has no `ctr.` tensors: its `auto` meant shared.
        if manifest.configuration.losses.ctrNetwork == .auto,
            !manifest.tensors.contains(where: { $0.name.hasPrefix("ctr.") })
        {
            manifest.configuration.losses.ctrNetwork = .shared
        }
        let trainer = try Trainer(schema: manifest.schema, configuration: manifest.configuration)
        let buffers = Dictionary(buffers(trainer).map { ($0.0, ($0.1, $0.2)) }, uniquingKeysWith: { a, _ in a })
        var offset = 16 + length
        for entry in manifest.tensors {
            guard let (pointer, count) = buffers[entry.name], count == entry.count else {
                throw fail("tensor \(entry.name) does not match the configuration")
            }
            guard offset + 4 * count <= bytes.count else { throw fail("truncated tensor data") }
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawPointer(pointer).copyMemory(from: raw.baseAddress! + offset, byteCount: 4 * count)
            }
            offset += 4 * count
        }
        guard manifest.tensors.count == buffers.count, offset == bytes.count else {
            throw fail("tensor list does not match")
        }
        trainer.restore(
            steps: manifest.steps, rowsSeen: manifest.rowsSeen, optimizer: manifest.optimizer,
            teacherOptimizer: manifest.teacherOptimizer, cvrOptimizer: manifest.cvrOptimizer,
            ctrOptimizer: manifest.ctrOptimizer)
        trainer.calibration = manifest.calibration
        trainer.history = manifest.history ?? TrainingHistory()
        return trainer
    }
}
