import Foundation
import HTTP2
import Synchronization
import Testing

/// A real `funnel-serve` process on 127.0.0.1 with an ephemeral port and its own model repository, plus
/// helpers to run real clients (curl, nghttp, h2load, python) against it.
final class RunningDaemon: @unchecked Sendable {  // used from one test at a time
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let defaultModel = root.appendingPathComponent("models/funnel-student/1/model.fckpt").path
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            "funnel-serve")
    }

    let directory: String
    let repository: String
    let process = Process()
    private let output = Pipe()
    private(set) var port = 0
    private(set) var scheme = "http"

    /// Starts the daemon with `settings` merged into a small test configuration and waits until it is ready.
    init(settings: [String: Any] = [:], versions: [Int] = [1], environment: [String: String] = [:]) throws {
        directory = NSTemporaryDirectory() + "funnel-serve-\(UUID())"
        repository = directory + "/models"
        for version in versions { try placeModel(version: version) }
        var configuration: [String: Any] = [
            "port": 0, "model_repository": repository, "reload_poll_seconds": 0, "shutdown_grace_seconds": 10,
            "log_level": "warning",
        ]
        configuration.merge(settings) { $1 }
        if configuration["tls_certificate"] != nil { scheme = "https" }
        let configPath = directory + "/serve.json"
        try JSONSerialization.data(withJSONObject: configuration).write(to: URL(fileURLWithPath: configPath))
        process.executableURL = Self.binary
        process.arguments = ["--config", configPath]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        // The first line says where it listens: "funnel-serve listening on http://127.0.0.1:PORT".
        var line = Data()
        let handle = output.fileHandleForReading
        while !line.contains(0x0A) {
            let chunk = handle.availableData
            if chunk.isEmpty { throw DaemonError("funnel-serve exited before listening") }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let portText = text.split(separator: ":").last?.split(separator: "\n").first, let port = Int(portText)
        else {
            throw DaemonError("unexpected first line: \(text)")
        }
        self.port = port
        try waitUntilReady()
    }

    deinit {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var url: String { "\(scheme)://127.0.0.1:\(port)" }

    func placeModel(version: Int, bytes: Data? = nil) throws {
        let versionDirectory = "\(repository)/funnel-student/\(version)"
        try FileManager.default.createDirectory(atPath: versionDirectory, withIntermediateDirectories: true)
        let data = try bytes ?? Data(contentsOf: URL(fileURLWithPath: Self.defaultModel))
        try data.write(to: URL(fileURLWithPath: versionDirectory + "/model.fckpt.tmp"))
        _ = rename(versionDirectory + "/model.fckpt.tmp", versionDirectory + "/model.fckpt")
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    func waitUntilReady(timeout: Double = 30) throws {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if let result = try? curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "\(url)/readyz"]),
                result.output == "200"
            {
                return
            }
            usleep(100_000)
        }
        throw DaemonError("funnel-serve did not become ready")
    }

    /// Exit status after SIGTERM (or whatever stopped it), waiting at most `timeout` seconds.
    func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func curl(_ arguments: [String]) throws -> CommandResult {
        try run("/usr/bin/curl", ["--silent", "--show-error", "--max-time", "20", "-k"] + arguments)
    }

    /// POSTs `body` to /v1/score; returns status and body.
    func score(
        _ body: String, flags: [String] = ["--http2-prior-knowledge"],
        headers: [String] = ["content-type: application/json"]
    )
        throws -> (status: Int, body: String)
    {
        let bodyFile = directory + "/body-\(UUID()).json"
        try Data(body.utf8).write(to: URL(fileURLWithPath: bodyFile))
        defer { unlink(bodyFile) }
        let result = try curl(
            flags + headers.flatMap { ["-H", $0] } + [
                "--data-binary", "@" + bodyFile, "-w", "\n%{http_code}", "\(url)/v1/score",
            ])
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? -1, lines.dropLast().joined(separator: "\n"))
    }
}

struct CommandResult {
    let status: Int32
    let output: String
    let error: String
}

func run(_ executable: String, _ arguments: [String], input: Data? = nil) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    // Read both pipes concurrently so a chatty client cannot block on a full pipe.
    let errorData = Locked<Data>(Data())
    let reader = Thread { errorData.withLock { $0 = error.fileHandleForReading.readDataToEndOfFile() } }
    reader.start()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while reader.isExecuting || !reader.isFinished { usleep(1000) }
    return CommandResult(
        status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
        error: String(decoding: errorData.withLock { $0 }, as: UTF8.self))
}

struct DaemonError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A scoring request body for the default model with `count` candidates.
func scoreBody(candidates count: Int, extra: String = "") -> String {
    let candidates = (0..<count).map { i in
        #"{"id": "item-\#(i)", "features": {"item_id": \#(1000 + i), "item_category": "c\#(i % 7)", "price": \#(10 + i)}}"#
    }
    return
        #"{"user": {"user_id": "u1", "user_age": 31}, "context": {"device": "ios"}, "candidates": [\#(candidates.joined(separator: ","))]\#(extra)}"#
}
