import Foundation
import Testing

/// funnel-serve started exactly as deploy/ starts it: the systemd unit's ExecStart and Environment= (plus its
/// EnvironmentFile as shipped), and the container's ENTRYPOINT, CMD and ENV, read from the files themselves. The
/// only changes are where things live on this machine, each asserted below: the binary path (the built one), the
/// --config file (deploy/serve.json, which the unit's install step and the image copy to /etc/funnel/serve.json),
/// FUNNEL_MODELS (a temporary repository) and FUNNEL_PORT (0, a free port). Then it scores, reloads through the
/// unit's ExecReload, rolls a version in and back out, and stops with the unit's KillSignal.
@Suite(.serialized)
struct DeploymentTests {
    static let deploy = RunningDaemon.root.appendingPathComponent("deploy")
    static let installedBinary = "/usr/local/bin/funnel-serve"
    static let installedConfig = "/etc/funnel/serve.json"

    @Test func systemdUnitStartsScoresReloadsRollsBackAndDrains() throws {
        let unit = try SystemdUnit(path: Self.deploy.appendingPathComponent("systemd/funnel-serve.service").path)
        #expect(unit.value("Type") == "notify")  // READY=1 is covered by notifiesSystemdWhenListeningAndWhenDraining
        #expect(unit.value("NotifyAccess") == "main")
        var environment = unit.environment
        // EnvironmentFile=-/etc/default/funnel-serve, as shipped (deploy/systemd/funnel-serve.default).
        #expect(unit.values("EnvironmentFile") == ["-/etc/default/funnel-serve"])
        environment.merge(
            try Self.environmentFile(Self.deploy.appendingPathComponent("systemd/funnel-serve.default").path)
        ) { $1 }
        let arguments = unit.value("ExecStart")?.split(separator: " ").map(String.init) ?? []
        let daemon = try DeployedDaemon(command: arguments, environment: environment, label: "systemd")
        defer { daemon.stop() }
        #expect(daemon.environment["FUNNEL_HOST"] == "0.0.0.0")
        #expect(daemon.readyVersion() == 1)

        // Score over h2c, as a ranking client does.
        let scored = try daemon.score(scoreBody(candidates: 3))
        #expect(scored.status == 200, "\(scored.body)")
        #expect(try Self.results(scored.body) == 3)

        // Roll version 2 in: atomic rename into the repository, then `systemctl reload` = the unit's ExecReload.
        try daemon.placeModel(version: 2)
        try daemon.execReload(unit.value("ExecReload"))
        #expect(daemon.waitForVersion(2))

        // A corrupt version 3 is rejected and counted; version 2 keeps serving.
        try daemon.placeModel(version: 3, bytes: Data("not a checkpoint".utf8))
        try daemon.execReload(unit.value("ExecReload"))
        #expect(daemon.waitForMetric(#"funnel_model_reloads_total{result="failure"} 1"#))
        #expect(daemon.readyVersion() == 2)

        // Roll back: remove the bad version, move version 2 out of the way (not a number: ignored), reload.
        try FileManager.default.removeItem(atPath: daemon.repository + "/funnel-student/3")
        try FileManager.default.moveItem(
            atPath: daemon.repository + "/funnel-student/2", toPath: daemon.repository + "/funnel-student/2.rolled-back"
        )
        try daemon.execReload(unit.value("ExecReload"))
        #expect(daemon.waitForVersion(1))
        #expect(try daemon.score(scoreBody(candidates: 2)).status == 200)

        // An invalid request, so that every metric the dashboard and the alerts read has a series.
        #expect(try daemon.score("{\"candidates\": [").status == 400)
        let metrics = try daemon.get("/metrics")
        for name in try Self.metricNamesUsedByDeploy() {
            #expect(
                metrics.contains("\n\(name)") || metrics.hasPrefix(name), "/metrics has no \(name), which deploy/ uses")
        }

        // The unit logs JSON lines (FUNNEL_LOG_FORMAT=json) to stderr, i.e. the journal.
        let log = try String(contentsOfFile: daemon.logPath, encoding: .utf8)
        let lines = log.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "\(line)")
        }

        // `systemctl stop`: KillSignal within TimeoutStopSec, exit 0.
        #expect(unit.value("KillSignal") == "SIGTERM")
        let timeout = Double(unit.value("TimeoutStopSec") ?? "") ?? 0
        kill(daemon.process.processIdentifier, SIGTERM)
        #expect(daemon.waitForExit(timeout: timeout) == 0)
    }

    @Test func containerEntrypointStartsAndScores() throws {
        let image = try ContainerImage(path: Self.deploy.appendingPathComponent("Dockerfile").path)
        #expect(image.entrypoint == [Self.installedBinary])
        #expect(image.command.contains("--host") && image.command.contains("0.0.0.0"))
        #expect(image.user == "10001:10001")
        #expect(image.stopSignal == "SIGTERM")
        let daemon = try DeployedDaemon(
            command: image.entrypoint + image.command, environment: image.environment, label: "container")
        defer { daemon.stop() }
        #expect(daemon.listeningLine.hasPrefix("funnel-serve listening on http://0.0.0.0:"))
        #expect(daemon.readyVersion() == 1)
        for flags in [["--http2-prior-knowledge"], ["--http1.1"]] {
            let scored = try daemon.score(scoreBody(candidates: 4), flags: flags)
            #expect(scored.status == 200, "\(flags): \(scored.body)")
            #expect(try Self.results(scored.body) == 4)
        }
        kill(daemon.process.processIdentifier, SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0)
    }

    // MARK: - Reading deploy/

    static func results(_ body: String) throws -> Int {
        let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return (object?["results"] as? [Any])?.count ?? -1
    }

    static func environmentFile(_ path: String) throws -> [String: String] {
        var environment: [String: String] = [:]
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty, !text.hasPrefix("#"), let equals = text.firstIndex(of: "=") else { continue }
            environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        return environment
    }

    /// Every funnel_* series name in the Grafana dashboard and the alert rules.
    static func metricNamesUsedByDeploy() throws -> Set<String> {
        var names = Set<String>()
        for file in ["grafana/funnel-dashboard.json", "prometheus/funnel-alerts.yml"] {
            let text = try String(contentsOfFile: deploy.appendingPathComponent(file).path, encoding: .utf8)
            let pattern = try NSRegularExpression(pattern: #"\bfunnel_[a-z0-9_]+\b(?=\s*[{\[)]|\s*==)"#)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                names.insert(String(text[Range(match.range, in: text)!]))
            }
        }
        #expect(names.count >= 14, "\(names)")
        return names
    }
}

/// [Service] of a systemd unit: key → values, in order.
struct SystemdUnit {
    private var entries: [(String, String)] = []

    init(path: String) throws {
        var section = ""
        for raw in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                section = line
                continue
            }
            guard section == "[Service]", let equals = line.firstIndex(of: "=") else { continue }
            entries.append((String(line[..<equals]), String(line[line.index(after: equals)...])))
        }
    }

    func values(_ key: String) -> [String] { entries.filter { $0.0 == key }.map(\.1) }
    func value(_ key: String) -> String? { values(key).last }

    /// Environment= lines: space-separated KEY=VALUE assignments (optionally in double quotes).
    var environment: [String: String] {
        var result: [String: String] = [:]
        for line in values("Environment") {
            for assignment in line.split(separator: " ") {
                let text = assignment.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                guard let equals = text.firstIndex(of: "=") else { continue }
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
        }
        return result
    }
}

/// The last stage of a Dockerfile: ENV, USER, STOPSIGNAL, ENTRYPOINT and CMD (exec form).
struct ContainerImage {
    var environment: [String: String] = [:]
    var entrypoint: [String] = []
    var command: [String] = []
    var user: String?
    var stopSignal: String?

    init(path: String) throws {
        var instructions: [(String, String)] = []
        var pending = ""
        for raw in try String(contentsOfFile: path, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || (pending.isEmpty && line.isEmpty) { continue }
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            pending += line
            let parts = pending.split(separator: " ", maxSplits: 1).map(String.init)
            instructions.append((parts[0].uppercased(), parts.count > 1 ? parts[1] : ""))
            pending = ""
        }
        let lastStage = instructions.lastIndex { $0.0 == "FROM" } ?? 0
        for (word, arguments) in instructions[lastStage...] {
            switch word {
            case "ENV":
                for assignment in arguments.split(separator: " ") {
                    guard let equals = assignment.firstIndex(of: "=") else { continue }
                    environment[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
                }
            case "ENTRYPOINT": entrypoint = try JSONDecoder().decode([String].self, from: Data(arguments.utf8))
            case "CMD": command = try JSONDecoder().decode([String].self, from: Data(arguments.utf8))
            case "USER": user = arguments
            case "STOPSIGNAL": stopSignal = arguments
            default: break
            }
        }
    }
}

/// A funnel-serve process started with a deploy file's command line and environment, and nothing else from the
/// test's environment (systemd and container runtimes start services with a clean one).
final class DeployedDaemon: @unchecked Sendable {  // used from one test at a time
    let directory = NSTemporaryDirectory() + "funnel-deploy-\(UUID())"
    var repository: String { directory + "/models" }
    var logPath: String { directory + "/stderr.log" }
    let process = Process()
    let environment: [String: String]
    private(set) var listeningLine = ""
    private(set) var port = 0

    init(command: [String], environment deployed: [String: String], label: String) throws {
        // The only rewrites: where the binary, the configuration and the repository are here, and a free port.
        #expect(command.first == DeploymentTests.installedBinary, "\(label): \(command)")
        guard let configFlag = command.firstIndex(of: "--config"), configFlag + 1 < command.count else {
            throw DaemonError("\(label): no --config in \(command)")
        }
        #expect(command[configFlag + 1] == DeploymentTests.installedConfig, "\(label): \(command)")
        var arguments = Array(command.dropFirst())  // argv[1...]: "--config" sits at configFlag - 1
        arguments[configFlag] = DeploymentTests.deploy.appendingPathComponent("serve.json").path
        #expect(deployed["FUNNEL_MODELS"] != nil && deployed["FUNNEL_PORT"] != nil, "\(label): \(deployed)")
        var environment = deployed
        environment["FUNNEL_MODELS"] = directory + "/models"
        environment["FUNNEL_PORT"] = "0"
        environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        self.environment = environment
        try FileManager.default.createDirectory(atPath: repository, withIntermediateDirectories: true)
        try placeModel(version: 1)

        process.executableURL = RunningDaemon.binary
        process.arguments = arguments
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty {
                throw DaemonError(
                    "\(label): funnel-serve exited before listening: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")"
                )
            }
            line.append(chunk)
        }
        listeningLine = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let portText = listeningLine.split(separator: ":").last, let port = Int(portText) else {
            throw DaemonError("\(label): unexpected first line \(listeningLine)")
        }
        self.port = port
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func placeModel(version: Int, bytes: Data? = nil) throws {
        let versionDirectory = "\(repository)/funnel-student/\(version)"
        try FileManager.default.createDirectory(atPath: versionDirectory, withIntermediateDirectories: true)
        let data = try bytes ?? Data(contentsOf: URL(fileURLWithPath: RunningDaemon.defaultModel))
        try data.write(to: URL(fileURLWithPath: versionDirectory + "/model.fckpt.tmp"))
        _ = rename(versionDirectory + "/model.fckpt.tmp", versionDirectory + "/model.fckpt")
    }

    /// Runs the unit's ExecReload command line with $MAINPID set, as systemd does.
    func execReload(_ commandLine: String?) throws {
        let words = (commandLine ?? "").split(separator: " ").map {
            $0 == "$MAINPID" ? String(process.processIdentifier) : String($0)
        }
        guard let executable = words.first else { throw DaemonError("no ExecReload") }
        let result = try run(executable, Array(words.dropFirst()))
        #expect(result.status == 0, "\(commandLine ?? ""): \(result.error)")
    }

    func get(_ path: String, flags: [String] = ["--http1.1"]) throws -> String {
        try run("/usr/bin/curl", ["--silent", "--max-time", "10"] + flags + ["\(url)\(path)"]).output
    }

    /// The version /readyz reports (HTTP/1.1, like a kubelet probe), waiting up to 30 s for readiness.
    func readyVersion() -> Int? {
        let deadline = Date(timeIntervalSinceNow: 30)
        while Date() < deadline {
            if let body = try? get("/readyz"),
                let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                object["status"] as? String == "ready", let model = object["model"] as? [String: Any]
            {
                return model["version"] as? Int
            }
            usleep(100_000)
        }
        return nil
    }

    func waitForVersion(_ version: Int, timeout: Double = 20) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if readyVersion() == version { return true }
            usleep(100_000)
        }
        return false
    }

    func waitForMetric(_ line: String, timeout: Double = 20) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if let metrics = try? get("/metrics"), metrics.contains(line) { return true }
            usleep(100_000)
        }
        return false
    }

    func score(_ body: String, flags: [String] = ["--http2-prior-knowledge"]) throws -> (status: Int, body: String) {
        let bodyFile = directory + "/body-\(UUID()).json"
        try Data(body.utf8).write(to: URL(fileURLWithPath: bodyFile))
        defer { unlink(bodyFile) }
        let result = try run(
            "/usr/bin/curl",
            ["--silent", "--show-error", "--max-time", "20"] + flags
                + [
                    "-H", "content-type: application/json", "--data-binary", "@" + bodyFile, "-w", "\n%{http_code}",
                    "\(url)/v1/score",
                ])
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? -1, lines.dropLast().joined(separator: "\n"))
    }

    func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while process.isRunning, Date() < deadline { usleep(50_000) }
        return process.isRunning ? nil : process.terminationStatus
    }
}
