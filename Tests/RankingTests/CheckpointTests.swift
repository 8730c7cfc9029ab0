import Foundation
import Ranking
import Testing

struct CheckpointTests {
    let writer = TestModels.writer(network: TestModels.networks[2])

    func read32(_ bytes: [UInt8], _ offset: Int) -> Int {
        Int(bytes[offset..<offset + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    }

    func read64(_ bytes: [UInt8], _ offset: Int) -> Int {
        Int(bytes[offset..<offset + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    func write(_ value: UInt64, into bytes: inout [UInt8], at offset: Int, width: Int) {
        for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    /// Recomputes the header, table and preamble checksums, so a structural edit reaches the later checks.
    func resealed(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        let header = read64(bytes, 16), headerLength = read64(bytes, 24)
        let table = read64(bytes, 32), tableLength = read64(bytes, 40)
        if header + headerLength <= bytes.count {
            write(UInt64(CRC32C.checksum(Array(bytes[header..<header + headerLength]))), into: &bytes, at: 72, width: 4)
        }
        if table + tableLength <= bytes.count {
            write(UInt64(CRC32C.checksum(Array(bytes[table..<table + tableLength]))), into: &bytes, at: 76, width: 4)
        }
        write(UInt64(CRC32C.checksum(Array(bytes[0..<92]))), into: &bytes, at: 92, width: 4)
        return bytes
    }

    func expectLoad(_ bytes: [UInt8], fails expected: CheckpointError) {
        #expect(throws: expected) { try Checkpoint(bytes: bytes) }
    }

    @Test func roundTripIsBitExact() throws {
        let bytes = try writer.encoded()
        let checkpoint = try Checkpoint(bytes: bytes)
        #expect(checkpoint.header == writer.header)
        #expect(checkpoint.tensors.map(\.name) == writer.tensors.map(\.name))
        for tensor in writer.tensors {
            let loaded = checkpoint.values(tensor.name)
            #expect(loaded.elementsEqual(tensor.values) { $0.bitPattern == $1.bitPattern })
            #expect(checkpoint.tensors.first { $0.name == tensor.name }!.offset % 64 == 0)
        }
        let rewritten = CheckpointWriter(
            header: checkpoint.header,
            tensors: checkpoint.tensors.map {
                CheckpointWriter.Tensor(name: $0.name, shape: $0.shape, values: Array(checkpoint.values($0.name)))
            })
        #expect(try rewritten.encoded() == bytes)
    }

    @Test func fileRoundTripIsAtomicAndMapped() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("funnel-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.fckpt"
        try writer.write(toFile: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["model.fckpt"])
        let onDisk = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(onDisk == (try writer.encoded()))
        let checkpoint = try Checkpoint(contentsOfFile: path)
        #expect(checkpoint.header == writer.header)
    }

    @Test func truncationAnywhereIsReported() throws {
        let bytes = try writer.encoded()
        for length in [0, 5, 8, 95, 96, 500, bytes.count / 2, bytes.count - 1] {
            #expect(throws: CheckpointError.self) { try Checkpoint(bytes: Array(bytes.prefix(length))) }
        }
        expectLoad(
            Array(bytes.prefix(bytes.count - 1)), fails: .truncated(expected: bytes.count, actual: bytes.count - 1))
        expectLoad(Array(bytes.prefix(40)), fails: .truncated(expected: 96, actual: 40))
        expectLoad(bytes + [0], fails: .trailingBytes(expected: bytes.count, actual: bytes.count + 1))
    }

    @Test func badMagicAndVersionAreReported() throws {
        var bytes = try writer.encoded()
        bytes[0] = UInt8(ascii: "X")
        expectLoad(bytes, fails: .badMagic)
        expectLoad(Array("{\"model\": 1}".utf8), fails: .badMagic)
        bytes = try writer.encoded()
        write(2, into: &bytes, at: 8, width: 4)
        expectLoad(bytes, fails: .unsupportedVersion(2))
    }

    @Test func everyChecksumIsChecked() throws {
        let clean = try writer.encoded()
        let checkpoint = try Checkpoint(bytes: clean)
        let tensor = checkpoint.tensors[3]
        let cases: [(Int, String)] = [
            (20, "preamble"), (read64(clean, 16) + 5, "header"), (read64(clean, 32) + 3, "tensor table"),
            (tensor.offset + tensor.byteLength - 1, "tensor '\(tensor.name)'"),
        ]
        for (offset, region) in cases {
            var bytes = clean
            bytes[offset] ^= 0x40
            expectLoad(bytes, fails: .checksumMismatch(region: region))
        }
    }

    @Test func structuralDamageIsReportedEvenWithValidChecksums() throws {
        let clean = try writer.encoded()
        let table = read64(clean, 32)
        let first = try Checkpoint(bytes: clean).tensors[0]
        // Entry 0: offset field at table + 16, byte length at table + 24.
        var bytes = clean
        write(UInt64(read64(clean, 56)), into: &bytes, at: table + 16, width: 8)
        expectLoad(resealed(bytes), fails: .offsetOutOfRange(tensor: first.name))
        bytes = clean
        write(32, into: &bytes, at: table + 16, width: 8)
        expectLoad(resealed(bytes), fails: .misaligned(tensor: first.name))
        bytes = clean
        write(7, into: &bytes, at: table + 4, width: 4)
        expectLoad(resealed(bytes), fails: .unsupportedDType(tensor: first.name, code: 7))
        bytes = clean
        write(UInt64.max, into: &bytes, at: table + 24, width: 8)
        #expect(throws: CheckpointError.self) { try Checkpoint(bytes: resealed(bytes)) }
        bytes = clean
        write(UInt64(clean.count + 100), into: &bytes, at: 24, width: 8)  // header length past the file
        #expect(throws: CheckpointError.self) { try Checkpoint(bytes: resealed(bytes)) }
        bytes = clean
        write(1_000_000, into: &bytes, at: 12, width: 4)  // tensor count beyond the table
        expectLoad(resealed(bytes), fails: .malformedTable("entry runs past the end of the table"))
        bytes = clean
        write(UInt64(first.offset - read64(clean, 48) + 64), into: &bytes, at: table + 16, width: 8)  // onto tensor 1
        #expect(throws: CheckpointError.self) { try Checkpoint(bytes: resealed(bytes)) }
        bytes = clean
        bytes[read64(clean, 32) + read64(clean, 40)] = 9  // the padding between table and data
        expectLoad(bytes, fails: .nonZeroPadding(offset: read64(clean, 32) + read64(clean, 40)))
        bytes = clean
        let headerStart = read64(clean, 16)
        bytes[headerStart] = UInt8(ascii: "[")
        #expect(throws: CheckpointError.self) { try Checkpoint(bytes: resealed(bytes)) }
    }

    @Test func tensorsMustMatchTheSpecs() throws {
        var tensors = writer.tensors
        let removed = tensors.remove(at: 5)
        expectLoad(
            try CheckpointWriter(header: writer.header, tensors: tensors).encoded(), fails: .missingTensor(removed.name)
        )

        tensors = writer.tensors + [CheckpointWriter.Tensor(name: "extra", shape: [2], values: [1, 2])]
        expectLoad(
            try CheckpointWriter(header: writer.header, tensors: tensors).encoded(), fails: .unexpectedTensor("extra"))

        tensors = writer.tensors
        let original = tensors[0]
        tensors[0] = CheckpointWriter.Tensor(
            name: original.name, shape: [original.shape[1], original.shape[0]], values: original.values)
        expectLoad(
            try CheckpointWriter(header: writer.header, tensors: tensors).encoded(),
            fails: .shapeMismatch(
                tensor: original.name, expected: original.shape, actual: [original.shape[1], original.shape[0]]))

        // The same weights under a spec with a wider expert no longer fit.
        var header = writer.header
        header.network.expertLayers[0] += 1
        #expect(throws: CheckpointError.self) {
            try Checkpoint(bytes: try CheckpointWriter(header: header, tensors: writer.tensors).encoded())
        }
        // Serving checkpoints never read privileged fields.
        header = writer.header
        header.features.fields.append(
            FieldSpec(name: "dwell", group: .privileged, kind: .numeric(.log1p), dimension: 1))
        expectLoad(
            try CheckpointWriter(header: header, tensors: writer.tensors).encoded(),
            fails: .invalidSpec("serving checkpoints cannot read privileged field 'dwell'"))
    }

    /// A separate CTR network's tensors sit under their prefix, named in the header; each half is checked.
    @Test func aSeparateCTRNetworkRoundTripsAndIsChecked() throws {
        let writer = TestModels.writer(network: TestModels.networks[2], ctrNetwork: TestModels.networks[0])
        let checkpoint = try Checkpoint(bytes: try writer.encoded())
        #expect(checkpoint.header == writer.header && checkpoint.header.ctrNetwork == TestModels.networks[0])
        let ctrShape = try #require(checkpoint.ctrNetworkShape)
        #expect(ctrShape.tensors.allSatisfy { $0.name.hasPrefix(NetworkShape.ctrNetworkPrefix) })
        #expect(checkpoint.tensors.map(\.name) == (checkpoint.shape.tensors + ctrShape.tensors).map(\.name))
        let logit = NetworkShape.towerLogit(.ctr) + ".bias"
        let stored = writer.tensors.first { $0.name == NetworkShape.ctrNetworkPrefix + logit }!
        #expect(Array(checkpoint.ctrNetwork!.values(logit)) == stored.values)
        #expect(Array(checkpoint.student.values(logit)) != stored.values)

        // The CTR network's tensors without the header naming it, or the header without them, are refused.
        var header = writer.header
        header.ctrNetwork = nil
        expectLoad(
            try CheckpointWriter(header: header, tensors: writer.tensors).encoded(),
            fails: .unexpectedTensor(ctrShape.tensors[0].name))
        let studentOnly = writer.tensors.filter { !$0.name.hasPrefix(NetworkShape.ctrNetworkPrefix) }
        expectLoad(
            try CheckpointWriter(header: writer.header, tensors: studentOnly).encoded(),
            fails: .missingTensor(ctrShape.tensors[0].name))
        // An invalid CTR network wiring is a spec error.
        header = writer.header
        header.ctrNetwork?.expertLayers = []
        #expect(throws: CheckpointError.self) {
            try Checkpoint(bytes: try CheckpointWriter(header: header, tensors: writer.tensors).encoded())
        }
    }

    @Test func unreadableFilesGiveIOErrors() {
        #expect(throws: CheckpointError.io(path: "/nonexistent/model.fckpt", message: "No such file or directory")) {
            try Checkpoint(contentsOfFile: "/nonexistent/model.fckpt")
        }
        #expect(throws: CheckpointError.io(path: "/tmp", message: "not a regular file")) {
            try Checkpoint(contentsOfFile: "/tmp")
        }
    }

    @Test func errorsExplainThemselves() {
        #expect(CheckpointError.badMagic.description.contains("not a Funnel checkpoint"))
        #expect(CheckpointError.unsupportedVersion(9).description.contains("funnel-train export"))
        #expect(CheckpointError.truncated(expected: 10, actual: 4).description.contains("truncated"))
    }
}
