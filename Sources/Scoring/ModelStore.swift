import Foundation
import HTTP2
import Logging
import Prometheus
import Ranking
import Synchronization

/// Owns the model being served: load → validate → warm up → atomic swap (TF Serving's availability-preserving
/// policy). The highest version in the repository serves; a version that fails to load is logged, counted
/// and remembered (by file identity) so it is not retried until the file changes, and the current model keeps
/// serving. Batches hold a reference to the model they started with, so a swap never disturbs them.
///
/// Each version is served from a private copy of its file (see `Checkpoint(privateCopyOf:in:)`), so writing over or
/// truncating a served file changes nothing that serves. The changed file is a new candidate at the next reload: it
/// is validated and swapped in, or rejected (logged, counted) while the copy loaded before keeps serving.
public final class ModelStore: Sendable {
    /// What changes whenever the file is replaced or written in place (the status-change time even under `cp -p`).
    private struct FileIdentity: Equatable {
        let device: UInt64, inode: UInt64, size: Int64, modified: Int, changed: Int

        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modified = info.st_mtim.tv_sec * 1_000_000_000 + info.st_mtim.tv_nsec
            changed = info.st_ctim.tv_sec * 1_000_000_000 + info.st_ctim.tv_nsec
        }
    }

    private struct State {
        var current: ServableModel?
        var currentIdentity: FileIdentity?
        var rejected: [String: FileIdentity] = [:]
    }

    public let repository: ModelRepository
    /// Where the private copies of served checkpoints live (as unnamed files).
    private let copyDirectory: String
    private let scoreOverride: ScoreFormula?
    private let warmUpRows: Int
    private let logger: Logger
    private let metrics: ScoringMetrics
    private let state = Locked(State())
    private let reloads = DispatchQueue(label: "funnel.model-store")
    private let poller = PollTimer()

    /// The polling timer; touched only on `reloads`.
    private final class PollTimer: @unchecked Sendable {
        var timer: (any DispatchSourceTimer)?
    }

    public init(
        repository: ModelRepository, copyDirectory: String, scoreOverride: ScoreFormula?, warmUpRows: Int,
        logger: Logger, metrics: ScoringMetrics
    ) {
        self.repository = repository
        self.copyDirectory = copyDirectory
        self.scoreOverride = scoreOverride
        self.warmUpRows = warmUpRows
        self.logger = logger
        self.metrics = metrics
    }

    /// The model new requests are encoded for and run on; nil until the first load succeeds.
    public var current: ServableModel? { state.withLock { $0.current } }

    /// Brings the served model up to date with the repository, synchronously. Returns the model serving after.
    @discardableResult
    public func reloadNow(reason: String) -> ServableModel? {
        dispatchPrecondition(condition: .notOnQueue(reloads))
        return reloads.sync {
            update(reason: reason)
            return current
        }
    }

    /// The same, in the background (SIGHUP, polling).
    public func reload(reason: String) {
        reloads.async { self.update(reason: reason) }
    }

    /// Polls the repository every `interval` for new versions.
    public func startPolling(every interval: Duration) {
        let nanoseconds = Int(interval / .nanoseconds(1))
        reloads.async { [self] in
            let timer = DispatchSource.makeTimerSource(queue: reloads)
            timer.schedule(deadline: .now() + .nanoseconds(nanoseconds), repeating: .nanoseconds(nanoseconds))
            timer.setEventHandler { [weak self] in self?.update(reason: "poll") }
            timer.resume()
            poller.timer = timer
        }
    }

    public func stopPolling() {
        reloads.async { [self] in
            poller.timer?.cancel()
            poller.timer = nil
        }
    }

    /// Runs on `reloads`: serve the highest version that loads. While the current model's version is still in the
    /// repository, a newer version that fails leaves it serving; once it is gone (a rollback deleted it), the
    /// store walks down to the newest version that loads.
    private func update(reason: String) {
        let versions: [ModelRepository.Version]
        do {
            versions = try repository.versions()
        } catch {
            logger.error("cannot list the model repository", metadata: ["error": "\(error)", "reason": "\(reason)"])
            return
        }
        let (current, currentIdentity, rejected) = state.withLock { ($0.current, $0.currentIdentity, $0.rejected) }
        let currentStillThere = versions.contains { $0.number == current?.version }
        for version in versions {
            let identity = FileIdentity(path: version.path)
            if let current, current.version == version.number, currentIdentity == identity { return }  // up to date
            if let identity, rejected[version.path] == identity {  // known bad: do not load it again
                if currentStillThere { return }
                continue
            }
            do {
                swapIn(try load(version), identity: identity, replacing: current)
                return
            } catch {
                metrics.reloads("failure").increment()
                logger.error(
                    "rejected model version",
                    metadata: [
                        "model": "\(version.name)", "version": "\(version.number)", "path": "\(version.path)",
                        "error": "\(error)", "reason": "\(reason)",
                    ])
                if let identity { state.withLock { $0.rejected[version.path] = identity } }
                if currentStillThere { return }
            }
        }
        if current == nil {
            logger.error("no loadable model version", metadata: ["repository": "\(repository.root)"])
        }
    }

    private func load(_ version: ModelRepository.Version) throws -> ServableModel {
        let start = ContinuousClock.now
        let checkpoint = try Checkpoint(privateCopyOf: version.path, in: copyDirectory)
        if !checkpoint.isMapped {
            logger.warning(
                "cannot make private checkpoint copies here; the checkpoint was read into memory instead",
                metadata: ["model_copy_directory": "\(copyDirectory)", "bytes": "\(checkpoint.byteCount)"])
        }
        guard checkpoint.header.model.name == version.name else {
            throw RepositoryError(
                "checkpoint names model '\(checkpoint.header.model.name)' but sits under '\(version.name)'")
        }
        let model = ServableModel(
            name: version.name, version: version.number, path: version.path, checkpoint: checkpoint,
            scoreOverride: scoreOverride)
        try ModelWarmUp.run(model, rows: warmUpRows)
        logger.info(
            "loaded model",
            metadata: [
                "model": "\(model.name)", "version": "\(model.version)",
                "seconds": "\((ContinuousClock.now - start) / .seconds(1))",
            ])
        return model
    }

    private func swapIn(_ model: ServableModel, identity: FileIdentity?, replacing previous: ServableModel?) {
        state.withLock {
            $0.current = model
            $0.currentIdentity = identity
        }
        metrics.reloads("success").increment()
        if let previous { metrics.modelInfo(name: previous.name, version: previous.version).set(0.0) }
        metrics.modelInfo(name: model.name, version: model.version).set(1.0)
        _ = metrics.model(name: model.name, version: model.version)  // its series exist before its first batch
        logger.notice(
            "serving model",
            metadata: [
                "model": "\(model.name)", "version": "\(model.version)",
                "previous": "\(previous.map { String($0.version) } ?? "none")",
            ])
    }
}
