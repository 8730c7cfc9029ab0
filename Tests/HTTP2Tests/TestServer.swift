import Dispatch
import Foundation
import HTTP2
import Testing

/// A real `HTTPServer` on 127.0.0.1 with an ephemeral port, shut down (bounded) when the test ends.
final class TestServer {
    let server: HTTPServer
    let handler = TestHandler()
    let port: Int

    init(_ configure: (inout HTTPServerConfiguration) -> Void = { _ in }) throws {
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configure(&configuration)
        // The default logger (no Logging import: the test target depends on HTTP2 only).
        server = HTTPServer(configuration: configuration, handler: handler)
        try server.start()
        port = server.boundPort
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// Shuts down and waits for completion; returns false if it did not complete in `timeout`.
    @discardableResult
    func stop(grace: Duration = .seconds(5), timeout: TimeInterval = 30) -> Bool {
        let done = DispatchSemaphore(value: 0)
        server.shutdown(gracePeriod: grace) { done.signal() }
        return done.wait(timeout: .now() + timeout) == .success
    }

    deinit {
        stop(grace: .milliseconds(100))
    }
}

/// Runs a command line tool with its output in files (no pipe deadlocks), killed after `timeout` seconds.
struct CommandResult {
    var status: Int32
    var output: Data
    var error: String
    var text: String { String(decoding: output, as: UTF8.self) }
}

enum Command {
    static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> CommandResult {
        let process = try start(executable, arguments)
        let killer = DispatchWorkItem { process.process.terminate() }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        process.process.waitUntilExit()
        killer.cancel()
        return process.result()
    }

    final class Running {
        let process = Process()
        let outputURL: URL
        let errorURL: URL

        init(outputURL: URL, errorURL: URL) {
            self.outputURL = outputURL
            self.errorURL = errorURL
        }

        func result() -> CommandResult {
            defer {
                try? FileManager.default.removeItem(at: outputURL)
                try? FileManager.default.removeItem(at: errorURL)
            }
            return CommandResult(
                status: process.terminationStatus, output: (try? Data(contentsOf: outputURL)) ?? Data(),
                error: String(decoding: (try? Data(contentsOf: errorURL)) ?? Data(), as: UTF8.self))
        }
    }

    static func start(_ executable: String, _ arguments: [String]) throws -> Running {
        let directory = FileManager.default.temporaryDirectory
        let running = Running(
            outputURL: directory.appendingPathComponent("http2-test-\(UUID().uuidString).out"),
            errorURL: directory.appendingPathComponent("http2-test-\(UUID().uuidString).err"))
        _ = FileManager.default.createFile(atPath: running.outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: running.errorURL.path, contents: nil)
        running.process.executableURL = URL(fileURLWithPath: executable)
        running.process.arguments = arguments
        running.process.standardOutput = try FileHandle(forWritingTo: running.outputURL)
        running.process.standardError = try FileHandle(forWritingTo: running.errorURL)
        try running.process.run()
        return running
    }

    /// curl with a hard time bound and quiet progress.
    static func curl(_ arguments: [String], timeout: TimeInterval = 30) throws -> CommandResult {
        try run("/usr/bin/curl", ["-sS", "--max-time", String(Int(timeout))] + arguments, timeout: timeout + 10)
    }
}

/// Polls `condition` until true or `timeout` seconds passed.
func eventually(timeout: TimeInterval = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// A temporary file with `bytes`, removed by the caller.
func temporaryFile(_ bytes: [UInt8], suffix: String = "") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("http2-test-\(UUID().uuidString)\(suffix)")
    try Data(bytes).write(to: url)
    return url
}
