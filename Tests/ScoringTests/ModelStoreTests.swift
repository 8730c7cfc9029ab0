import Foundation
import Prometheus
import Ranking
import Testing

@testable import Scoring

/// Load → validate → warm up → swap, against a real repository on disk.
struct ModelStoreTests {
    let root = NSTemporaryDirectory() + "funnel-repository-\(UUID())"
    let metrics = TestModel.metrics()

    func place(version: Int, corrupt: Bool = false) throws {
        let directory = "\(root)/funnel-student/\(version)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: TestModel.defaultCheckpoint))
        if corrupt { bytes[bytes.count / 2] ^= 0x5A }
        try bytes.write(to: URL(fileURLWithPath: "\(directory)/model.fckpt.tmp"))
        _ = rename("\(directory)/model.fckpt.tmp", "\(directory)/model.fckpt")  // as an exporter publishes
    }

    func makeStore(copyDirectory: String = NSTemporaryDirectory()) -> ModelStore {
        ModelStore(
            repository: ModelRepository(root: root), copyDirectory: copyDirectory, scoreOverride: nil,
            warmUpRows: 16, logger: TestModel.logger, metrics: metrics)
    }

    func counter(_ text: String) -> Bool { metrics.registry.emitToString().contains(text) }

    @Test func highestVersionServesAndBadVersionsNeverDo() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try place(version: 1)
        let store = makeStore()
        #expect(store.reloadNow(reason: "test")?.version == 1)

        try place(version: 2, corrupt: true)
        #expect(store.reloadNow(reason: "test")?.version == 1)  // rejected; v1 keeps serving
        #expect(counter(#"funnel_model_reloads_total{result="failure"} 1"#))
        #expect(store.reloadNow(reason: "test")?.version == 1)
        #expect(counter(#"funnel_model_reloads_total{result="failure"} 1"#))  // not retried while unchanged

        try place(version: 3)
        let before = store.current
        #expect(store.reloadNow(reason: "test")?.version == 3)
        #expect(before?.version == 1)  // a batch holding the old model keeps it
        #expect(counter(#"funnel_model_info{model="funnel-student",version="3"} 1"#))
        #expect(counter(#"funnel_model_info{model="funnel-student",version="1"} 0"#))

        // Rolling back: delete v3; v2 is known bad, so v1 serves again.
        try FileManager.default.removeItem(atPath: "\(root)/funnel-student/3")
        #expect(store.reloadNow(reason: "test")?.version == 1)
    }

    /// Operators, sync sidecars and `kubectl cp` write over the served file in place (same inode). Serving a map of
    /// the file itself, the daemon then answered as the same version with the new file's bytes mixed in, and died
    /// of SIGBUS once the file was truncated. The served model must not change, and the changed file is a candidate
    /// like any other: rejected while invalid, swapped in once valid. Also where no private file can be made (the
    /// copy directory is missing or read-only): the checkpoint is then read into memory, just as private.
    @Test(arguments: [NSTemporaryDirectory(), "/nonexistent/funnel-copies"])
    func writingOverOrTruncatingTheServedFileChangesNothingServed(copyDirectory: String) throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try place(version: 1)
        let store = makeStore(copyDirectory: copyDirectory)
        let served = try #require(store.reloadNow(reason: "test"))
        let before = try TestModel.predictions(served)
        let path = "\(root)/funnel-student/1/model.fckpt"
        let other = try Data(contentsOf: URL(fileURLWithPath: TestModel.trainedCheckpoint))
        func writeInPlace(_ bytes: Data) throws {
            let file = try #require(FileHandle(forWritingAtPath: path))  // O_WRONLY on the same inode, as cp does
            try file.truncate(atOffset: 0)
            try file.write(contentsOf: bytes)
            try file.close()
        }

        try writeInPlace(other)
        #expect(try TestModel.predictions(served) == before)
        #expect(truncate(path, 100) == 0)
        #expect(try TestModel.predictions(served) == before)
        #expect(store.reloadNow(reason: "test") === served)  // the truncated file is rejected; the copy serves
        #expect(counter(#"funnel_model_reloads_total{result="failure"} 1"#))

        try writeInPlace(other)
        let replaced = try #require(store.reloadNow(reason: "test"))
        #expect(replaced !== served && replaced.version == 1)
        #expect(try TestModel.predictions(replaced) != before)
        #expect(try TestModel.predictions(served) == before)  // batches still holding the old model are unaffected
    }

    @Test func startupWalksDownPastABadNewestVersion() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try place(version: 4)
        try place(version: 7, corrupt: true)
        #expect(makeStore().reloadNow(reason: "test")?.version == 4)
    }

    @Test func emptyOrAmbiguousRepositoriesServeNothing() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: "\(root)/a", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(root)/b", withIntermediateDirectories: true)
        #expect(makeStore().reloadNow(reason: "test") == nil)
        #expect(throws: RepositoryError.self) { try ModelRepository(root: root).versions() }
    }

    @Test func aCheckpointUnderTheWrongNameIsRejected() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = "\(root)/other-model/1"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestModel.defaultCheckpoint, toPath: "\(directory)/model.fckpt")
        #expect(makeStore().reloadNow(reason: "test") == nil)
    }
}
