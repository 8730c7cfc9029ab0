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

    func makeStore() -> ModelStore {
        ModelStore(
            repository: ModelRepository(root: root), scoreOverride: nil, warmUpRows: 16, logger: TestModel.logger,
            metrics: metrics)
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
