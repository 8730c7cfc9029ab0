import FoundationEssentials

/// A validated, read-only checkpoint (format: `CheckpointFormat`, docs/CHECKPOINT.md).
///
/// Loading checks everything before anything is used: sizes, magic, version, every checksum, header JSON,
/// specs, table bounds and alignment, and that the tensors are exactly those `NetworkShape` derives from the
/// specs. Tensors are views into the mapped file; the checkpoint keeps the mapping alive.
public final class Checkpoint: Sendable {
    public struct TensorInfo: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        /// Absolute byte offset in the file.
        public let offset: Int
        public let byteLength: Int
        public let crc32c: UInt32
    }

    public let header: CheckpointHeader
    /// In file order.
    public let tensors: [TensorInfo]
    /// The student's shape (every checkpoint has one).
    public let shape: NetworkShape
    /// The separate CTR network's shape (`CheckpointHeader.ctrNetwork`), or nil.
    public let ctrNetworkShape: NetworkShape?
    private let storage: CheckpointStorage
    private let index: [String: Int]

    /// Maps the file at `path` and validates it. The map shows later writes to the file: for tools reading a file
    /// nobody changes; a server uses `init(privateCopyOf:in:)`.
    public convenience init(contentsOfFile path: String) throws(CheckpointError) {
        try self.init(storage: CheckpointStorage(mapping: path))
    }

    /// Maps and validates a private copy of the file, made in `directory` (see `CheckpointStorage(privateCopyOf:)`):
    /// what a server loads, so that writes to the file never reach the model it serves.
    public convenience init(privateCopyOf path: String, in directory: String) throws(CheckpointError) {
        try self.init(storage: CheckpointStorage(privateCopyOf: path, in: directory))
    }

    /// False when the bytes sit in the heap (handed in, or read because no private file could be made).
    public var isMapped: Bool { storage.isMapped }

    /// Validates a checkpoint held in memory (copied into aligned storage).
    public convenience init(bytes: some Collection<UInt8>) throws(CheckpointError) {
        try self.init(storage: CheckpointStorage(copying: bytes))
    }

    private init(storage: CheckpointStorage) throws(CheckpointError) {
        self.storage = storage
        let bytes = storage.bytes
        let preamble = try Self.readPreamble(bytes)
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[preamble.header])
        guard CRC32C.checksum(headerBytes) == preamble.headerCRC else { throw .checksumMismatch(region: "header") }
        let tableBytes = UnsafeRawBufferPointer(rebasing: bytes[preamble.table])
        guard CRC32C.checksum(tableBytes) == preamble.tableCRC else { throw .checksumMismatch(region: "tensor table") }

        do {
            header = try JSONDecoder().decode(CheckpointHeader.self, from: Data(headerBytes))
        } catch {
            throw .malformedHeader("\(error)")
        }
        do {
            try header.validate()
        } catch {
            throw .invalidSpec(error.description)
        }
        shape = NetworkShape(features: header.features, network: header.network)
        let features = header.features
        ctrNetworkShape = header.ctrNetwork.map {
            NetworkShape(features: features, network: $0, tensorPrefix: NetworkShape.ctrNetworkPrefix)
        }

        tensors = try Self.readTable(tableBytes, count: preamble.tensorCount, data: preamble.data)
        index = Dictionary(tensors.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        guard index.count == tensors.count else { throw .malformedTable("duplicate tensor names") }
        for tensor in tensors {
            let data = UnsafeRawBufferPointer(rebasing: bytes[tensor.offset..<tensor.offset + tensor.byteLength])
            guard CRC32C.checksum(data) == tensor.crc32c else {
                throw .checksumMismatch(region: "tensor '\(tensor.name)'")
            }
        }
        try Self.checkGaps(bytes, preamble: preamble, tensors: tensors)
        try checkAgainstShape()
    }

    /// The float values of the tensor `name`; a view into the checkpoint, valid while it lives.
    public func values(_ name: String) -> UnsafeBufferPointer<Float> {
        guard let position = index[name] else { preconditionFailure("no tensor named \(name)") }
        let tensor = tensors[position]
        let start = (storage.base + tensor.offset).assumingMemoryBound(to: Float.self)
        return UnsafeBufferPointer(start: start, count: tensor.byteLength / 4)
    }

    /// The student's weights.
    public var student: NetworkWeights { NetworkWeights(checkpoint: self, shape: shape) }
    /// The separate CTR network's weights, or nil.
    public var ctrNetwork: NetworkWeights? { ctrNetworkShape.map { NetworkWeights(checkpoint: self, shape: $0) } }

    /// The address of the checkpoint's bytes (for tests that prove tensors are not copied).
    public var baseAddress: UnsafeRawPointer { storage.base }
    public var byteCount: Int { storage.count }

    private func checkAgainstShape() throws(CheckpointError) {
        let expectedTensors = shape.tensors + (ctrNetworkShape?.tensors ?? [])
        for expected in expectedTensors {
            guard let position = index[expected.name] else { throw .missingTensor(expected.name) }
            let actual = tensors[position].shape
            guard actual == expected.shape else {
                throw .shapeMismatch(tensor: expected.name, expected: expected.shape, actual: actual)
            }
        }
        let expectedNames = Set(expectedTensors.map(\.name))
        if let extra = tensors.first(where: { !expectedNames.contains($0.name) }) {
            throw .unexpectedTensor(extra.name)
        }
    }

    private struct Preamble {
        let tensorCount: Int
        let header: Range<Int>
        let table: Range<Int>
        let data: Range<Int>
        let headerCRC: UInt32
        let tableCRC: UInt32
    }

    private static func readPreamble(_ bytes: UnsafeRawBufferPointer) throws(CheckpointError) -> Preamble {
        let length = CheckpointFormat.preambleLength
        guard bytes.count >= CheckpointFormat.magic.count,
            bytes.prefix(CheckpointFormat.magic.count).elementsEqual(CheckpointFormat.magic)
        else {
            if bytes.count < CheckpointFormat.magic.count, CheckpointFormat.magic.starts(with: bytes) {
                throw .truncated(expected: length, actual: bytes.count)
            }
            throw .badMagic
        }
        guard bytes.count >= length else { throw .truncated(expected: length, actual: bytes.count) }
        func u32(_ offset: Int) -> UInt32 {
            UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        }
        func u64(_ offset: Int) -> UInt64 {
            UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }
        let version = u32(8)
        guard version == CheckpointFormat.version else { throw .unsupportedVersion(version) }
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<92])) == u32(92) else {
            throw .checksumMismatch(region: "preamble")
        }
        let fileLength = u64(64)
        guard fileLength <= UInt64(Int.max) else { throw .malformedTable("file length \(fileLength) is impossible") }
        guard bytes.count >= Int(fileLength) else { throw .truncated(expected: Int(fileLength), actual: bytes.count) }
        guard bytes.count == Int(fileLength) else {
            throw .trailingBytes(expected: Int(fileLength), actual: bytes.count)
        }

        // Sections must lie inside the file, in order, without overflow.
        func section(_ offsetField: Int, _ lengthField: Int, after floor: Int, name: String) throws(CheckpointError)
            -> Range<Int>
        {
            let offset = u64(offsetField)
            let count = u64(lengthField)
            guard offset >= UInt64(floor), offset <= fileLength, count <= fileLength - offset else {
                throw .malformedTable("\(name) section [\(offset), +\(count)) lies outside the file")
            }
            return Int(offset)..<Int(offset + count)
        }
        let header = try section(16, 24, after: length, name: "header")
        let table = try section(32, 40, after: header.upperBound, name: "table")
        let data = try section(48, 56, after: table.upperBound, name: "data")
        guard data.lowerBound % CheckpointFormat.dataAlignment == 0 else {
            throw .malformedTable("data section is not 64-aligned")
        }
        let tensorCount = Int(u32(12))
        return Preamble(
            tensorCount: tensorCount, header: header, table: table, data: data, headerCRC: u32(72), tableCRC: u32(76))
    }

    /// Every byte the checksums do not cover (alignment padding) must be zero, and tensors must not overlap,
    /// so a verified file has no unexamined byte.
    private static func checkGaps(
        _ bytes: UnsafeRawBufferPointer, preamble: Preamble, tensors: [TensorInfo]
    ) throws(CheckpointError) {
        var covered: [(range: Range<Int>, name: String)] = [
            (0..<CheckpointFormat.preambleLength, "preamble"), (preamble.header, "header"), (preamble.table, "table"),
        ]
        covered += tensors.map { ($0.offset..<$0.offset + $0.byteLength, $0.name) }
        covered.sort { $0.range.lowerBound < $1.range.lowerBound }
        var end = 0
        var previous = ""
        for (range, name) in covered {
            guard range.lowerBound >= end else { throw .overlappingTensors(previous, name) }
            if let offset = (end..<range.lowerBound).first(where: { bytes[$0] != 0 }) {
                throw .nonZeroPadding(offset: offset)
            }
            end = range.upperBound
            previous = name
        }
        if let offset = (end..<bytes.count).first(where: { bytes[$0] != 0 }) { throw .nonZeroPadding(offset: offset) }
    }

    private static func readTable(
        _ table: UnsafeRawBufferPointer, count: Int, data: Range<Int>
    ) throws(CheckpointError) -> [TensorInfo] {
        var cursor = 0
        func take(_ size: Int) throws(CheckpointError) -> Int {
            guard size <= table.count - cursor else { throw .malformedTable("entry runs past the end of the table") }
            defer { cursor += size }
            return cursor
        }
        func u32() throws(CheckpointError) -> UInt32 {
            UInt32(littleEndian: table.loadUnaligned(fromByteOffset: try take(4), as: UInt32.self))
        }
        func u64() throws(CheckpointError) -> UInt64 {
            UInt64(littleEndian: table.loadUnaligned(fromByteOffset: try take(8), as: UInt64.self))
        }
        var tensors: [TensorInfo] = []
        for _ in 0..<count {
            let nameLength = Int(try u32())
            let dtype = try u32()
            let rank = Int(try u32())
            let crc = try u32()
            let offset = try u64()
            let byteLength = try u64()
            guard rank <= CheckpointFormat.maxRank else { throw .malformedTable("rank \(rank) exceeds 8") }
            var shape: [Int] = []
            var elements: UInt64 = 1
            for _ in 0..<rank {
                let dimension = try u64()
                let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                guard !overflow, dimension <= UInt64(Int32.max) else { throw .malformedTable("a shape overflows") }
                elements = product
                shape.append(Int(dimension))
            }
            guard nameLength <= 1024 else { throw .malformedTable("a tensor name is \(nameLength) bytes long") }
            let nameStart = try take(CheckpointFormat.aligned(nameLength, to: 8))
            guard let name = String(validating: table[nameStart..<nameStart + nameLength], as: UTF8.self) else {
                throw .malformedTable("a tensor name is not UTF-8")
            }
            guard dtype == CheckpointFormat.dtypeFloat32 else { throw .unsupportedDType(tensor: name, code: dtype) }
            // Reliability fix (fuzzing, issue 5): `elements * 4` trapped on overflow for shapes such as
            // [2^31-1, 2^31-1, 2] in a file whose checksums are right; compare without overflowing.
            let (expectedBytes, bytesOverflow) = elements.multipliedReportingOverflow(by: 4)
            guard !bytesOverflow, byteLength == expectedBytes else {
                throw .malformedTable("tensor '\(name)' has \(byteLength) bytes for shape \(shape)")
            }
            guard offset <= UInt64(data.count), byteLength <= UInt64(data.count) - offset else {
                throw .offsetOutOfRange(tensor: name)
            }
            guard offset % UInt64(CheckpointFormat.dataAlignment) == 0 else { throw .misaligned(tensor: name) }
            tensors.append(
                TensorInfo(
                    name: name, shape: shape, offset: data.lowerBound + Int(offset), byteLength: Int(byteLength),
                    crc32c: crc))
        }
        guard cursor == table.count else {
            throw .malformedTable("\(table.count - cursor) unread bytes after the entries")
        }
        return tensors
    }
}
