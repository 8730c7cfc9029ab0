import ArgumentParser
import FoundationEssentials
import Ranking

struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Inspect, verify or create serving checkpoints (format: docs/CHECKPOINT.md).",
        subcommands: [Inspect.self, Verify.self, Initialize.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a checkpoint, then print its specs and tensor table.")

        @Argument(help: "Path of the checkpoint file.")
        var path: String

        func run() throws {
            let checkpoint = try load(path)
            print(CheckpointReport(checkpoint: checkpoint, path: path).text)
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a checkpoint's structure, checksums and specs; exit 1 if anything is wrong.")

        @Argument(help: "Paths of checkpoint files.")
        var paths: [String]

        func run() throws {
            for path in paths {
                let checkpoint = try load(path)
                print(
                    "\(path): OK (\(checkpoint.header.model.name) v\(checkpoint.header.model.version), "
                        + "\(checkpoint.tensors.count) tensors, \(checkpoint.byteCount) bytes, all CRC32C checksums match)"
                )
            }
        }
    }

    struct Initialize: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Write a randomly initialised checkpoint for a model spec (for tests and benchmarks).")

        @Option(name: .long, help: "Model spec JSON: features, network and score (see config/models/).")
        var spec: String

        @Option(name: .shortAndLong, help: "Where to write the checkpoint (atomically).")
        var output: String

        @Option(name: .long, help: "Model name stored in the header.")
        var name: String = "funnel-student"

        @Option(name: .long, help: "Model version stored in the header.")
        var modelVersion: Int = 1

        @Option(name: .long, help: "Seed of the initialisation; the same seed writes the same bytes.")
        var seed: UInt64 = 1

        func run() throws {
            let modelSpec: ModelSpec
            do {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: spec))
                modelSpec = try StrictJSON.decode(ModelSpec.self, from: bytes)
            } catch {
                throw CommandFailure(message: "cannot read model spec \(spec): \(error)")
            }
            let header = CheckpointHeader(
                model: ModelIdentity(name: name, version: modelVersion), features: modelSpec.features,
                network: modelSpec.network, score: modelSpec.score,
                training: TrainingMetadata(producer: "funnel-train checkpoint init", seed: seed))
            do {
                try header.validate()
            } catch {
                throw CommandFailure(message: "model spec \(spec) is invalid: \(error)")
            }
            let tensors = RandomInitializer.tensors(for: modelSpec.shape, seed: seed)
            try CheckpointWriter(header: header, tensors: tensors).write(toFile: output)
            let checkpoint = try load(output)
            print("wrote \(output): \(checkpoint.tensors.count) tensors, \(checkpoint.byteCount) bytes")
        }
    }
}

/// Loads a checkpoint; a format error becomes a one-line message and exit code 1.
func load(_ path: String) throws -> Checkpoint {
    do {
        return try Checkpoint(contentsOfFile: path)
    } catch {
        throw CommandFailure(message: "\(path): \(error)")
    }
}

struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
