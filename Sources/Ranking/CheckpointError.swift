/// Everything that can be wrong with a checkpoint file. Each case names what was found and, where it
/// helps, what to do; the loader throws these and never traps on file contents.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    case io(path: String, message: String)
    case truncated(expected: Int, actual: Int)
    case trailingBytes(expected: Int, actual: Int)
    case badMagic
    case unsupportedVersion(UInt32)
    case checksumMismatch(region: String)
    case nonZeroPadding(offset: Int)
    case overlappingTensors(String, String)
    case malformedHeader(String)
    case malformedTable(String)
    case offsetOutOfRange(tensor: String)
    case misaligned(tensor: String)
    case unsupportedDType(tensor: String, code: UInt32)
    case invalidSpec(String)
    case missingTensor(String)
    case unexpectedTensor(String)
    case shapeMismatch(tensor: String, expected: [Int], actual: [Int])

    private static let hint = "re-export the model with `funnel-train export` (or `funnel-train checkpoint init`)"

    public var description: String {
        switch self {
        case .io(let path, let message): "cannot read checkpoint \(path): \(message)"
        case .truncated(let expected, let actual):
            "checkpoint is truncated: \(actual) bytes, the preamble promises \(expected); the copy was cut short"
        case .trailingBytes(let expected, let actual):
            "checkpoint has \(actual - expected) bytes past its declared end (\(expected)); the file was overwritten"
        case .badMagic: "not a Funnel checkpoint (bad magic bytes; expected \"FNLCKPT\\0\")"
        case .unsupportedVersion(let version):
            "checkpoint format version \(version) is not supported (this build reads 1); \(Self.hint)"
        case .checksumMismatch(let region): "checksum mismatch in \(region): the file is corrupt"
        case .nonZeroPadding(let offset): "padding byte \(offset) is not zero: the file is corrupt"
        case .overlappingTensors(let a, let b): "tensors '\(a)' and '\(b)' overlap"
        case .malformedHeader(let why): "checkpoint header is malformed: \(why)"
        case .malformedTable(let why): "checkpoint tensor table is malformed: \(why)"
        case .offsetOutOfRange(let tensor): "tensor '\(tensor)' points outside the data section"
        case .misaligned(let tensor): "tensor '\(tensor)' is not 64-byte aligned"
        case .unsupportedDType(let tensor, let code): "tensor '\(tensor)' has unsupported dtype code \(code)"
        case .invalidSpec(let why): "checkpoint specs are invalid: \(why)"
        case .missingTensor(let name): "tensor '\(name)' required by the network spec is missing; \(Self.hint)"
        case .unexpectedTensor(let name): "tensor '\(name)' is not part of the network spec; \(Self.hint)"
        case .shapeMismatch(let tensor, let expected, let actual):
            "tensor '\(tensor)' has shape \(actual), the network spec needs \(expected); \(Self.hint)"
        }
    }
}
