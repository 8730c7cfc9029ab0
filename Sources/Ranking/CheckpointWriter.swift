import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes the format of `CheckpointFormat` (spec: docs/CHECKPOINT.md). Tensor values are written straight
/// from the caller's arrays, so a large table is never copied.
public struct CheckpointWriter {
    public struct Tensor {
        public let name: String
        public let shape: [Int]
        public let values: [Float]

        public init(name: String, shape: [Int], values: [Float]) {
            precondition(shape.reduce(1, *) == values.count, "tensor \(name): shape \(shape) ≠ \(values.count) values")
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    public let header: CheckpointHeader
    public let tensors: [Tensor]

    public init(header: CheckpointHeader, tensors: [Tensor]) {
        self.header = header
        self.tensors = tensors
    }

    /// The whole file in memory.
    public func encoded() throws -> [UInt8] {
        var bytes = try prefix()
        for (tensor, padding) in zip(tensors, paddings()) {
            tensor.values.withUnsafeBytes { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: repeatElement(0, count: padding))
        }
        return bytes
    }

    /// Writes atomically (`AtomicFile`): a reader sees either the old file or the complete new one.
    public func write(toFile path: String) throws {
        do {
            try AtomicFile.write(to: path) { sink in
                try sink.write(try prefix())
                for (tensor, padding) in zip(tensors, paddings()) {
                    try tensor.values.withUnsafeBytes { try sink.write($0) }
                    try sink.write([UInt8](repeating: 0, count: padding))
                }
            }
        } catch let error as AtomicFile.WriteError {
            throw CheckpointError.io(path: error.path, message: error.message)
        }
    }

    /// Zero bytes after each tensor so the next one starts 64-aligned.
    private func paddings() -> [Int] {
        tensors.map {
            CheckpointFormat.aligned($0.values.count * 4, to: CheckpointFormat.dataAlignment) - $0.values.count * 4
        }
    }

    /// Preamble, header, table and the padding up to the data section.
    private func prefix() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let headerBytes = Array(try encoder.encode(header))

        var table: [UInt8] = []
        var dataLength = 0
        for tensor in tensors {
            let name = Array(tensor.name.utf8)
            let byteLength = tensor.values.count * 4
            let crc = tensor.values.withUnsafeBytes { CRC32C.checksum($0) }
            table.appendLittleEndian(UInt32(name.count))
            table.appendLittleEndian(CheckpointFormat.dtypeFloat32)
            table.appendLittleEndian(UInt32(tensor.shape.count))
            table.appendLittleEndian(crc)
            table.appendLittleEndian(UInt64(dataLength))
            table.appendLittleEndian(UInt64(byteLength))
            for dimension in tensor.shape { table.appendLittleEndian(UInt64(dimension)) }
            table.append(contentsOf: name)
            table.append(contentsOf: repeatElement(0, count: CheckpointFormat.aligned(name.count, to: 8) - name.count))
            dataLength += CheckpointFormat.aligned(byteLength, to: CheckpointFormat.dataAlignment)
        }

        let headerOffset = CheckpointFormat.preambleLength
        let tableOffset = CheckpointFormat.aligned(headerOffset + headerBytes.count, to: 8)
        let dataOffset = CheckpointFormat.aligned(tableOffset + table.count, to: CheckpointFormat.dataAlignment)
        var bytes = CheckpointFormat.magic
        bytes.appendLittleEndian(CheckpointFormat.version)
        bytes.appendLittleEndian(UInt32(tensors.count))
        for field in [headerOffset, headerBytes.count, tableOffset, table.count, dataOffset, dataLength] {
            bytes.appendLittleEndian(UInt64(field))
        }
        bytes.appendLittleEndian(UInt64(dataOffset + dataLength))
        bytes.appendLittleEndian(CRC32C.checksum(headerBytes))
        bytes.appendLittleEndian(CRC32C.checksum(table))
        bytes.append(contentsOf: repeatElement(0, count: 12))  // flags, reserved, reserved
        bytes.appendLittleEndian(CRC32C.checksum(bytes))
        bytes.append(contentsOf: headerBytes)
        bytes.append(contentsOf: repeatElement(0, count: tableOffset - bytes.count))
        bytes.append(contentsOf: table)
        bytes.append(contentsOf: repeatElement(0, count: dataOffset - bytes.count))
        return bytes
    }
}

extension [UInt8] {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
