import Foundation

/// The model repository on disk: `<root>/<model name>/<numeric version>/model.fckpt` (Triton's and TF
/// Serving's layout). Directories that are not numbers, and versions without a checkpoint, are ignored.
public struct ModelRepository: Sendable {
    public static let checkpointFileName = "model.fckpt"

    public let root: String
    /// The model to serve; nil means "the only model in the repository".
    public let modelName: String?

    public init(root: String, modelName: String? = nil) {
        self.root = root
        self.modelName = modelName
    }

    public struct Version: Sendable, Equatable {
        public let name: String
        public let number: Int
        public let path: String
    }

    /// Versions of the served model, highest first.
    public func versions() throws -> [Version] {
        let files = FileManager.default
        let name: String
        if let modelName {
            name = modelName
        } else {
            let names = try files.contentsOfDirectory(atPath: root).filter { isDirectory("\(root)/\($0)") }.sorted()
            guard names.count == 1 else {
                throw RepositoryError(
                    "\(root) holds \(names.count) models (\(names.joined(separator: ", "))); choose one with --model-name"
                )
            }
            name = names[0]
        }
        let directory = "\(root)/\(name)"
        guard isDirectory(directory) else { throw RepositoryError("model directory \(directory) does not exist") }
        return try files.contentsOfDirectory(atPath: directory).compactMap { entry -> Version? in
            guard let number = Int(entry), number >= 0, String(number) == entry else { return nil }
            let path = "\(directory)/\(entry)/\(Self.checkpointFileName)"
            return files.fileExists(atPath: path) ? Version(name: name, number: number, path: path) : nil
        }.sorted { $0.number > $1.number }
    }

    private func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }
}

public struct RepositoryError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
