import Foundation

/// One curl transfer: the body (from `-o`), the status, the HTTP version curl used and the response headers.
struct CurlFetch {
    var body: Data
    var status: Int
    var version: String
    var headers: String
    var exitStatus: Int32
    var stderr: String
    var text: String { String(decoding: body, as: UTF8.self) }

    static func run(_ arguments: [String], timeout: TimeInterval = 30) throws -> CurlFetch {
        let bodyFile = FileManager.default.temporaryDirectory.appendingPathComponent("http2-body-\(UUID().uuidString)")
        let headerFile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "http2-head-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: bodyFile)
            try? FileManager.default.removeItem(at: headerFile)
        }
        let result = try Command.curl(
            ["-o", bodyFile.path, "-D", headerFile.path, "-w", "%{http_code} %{http_version}"] + arguments,
            timeout: timeout)
        let parts = result.text.split(separator: " ")
        return CurlFetch(
            body: (try? Data(contentsOf: bodyFile)) ?? Data(), status: parts.first.flatMap { Int($0) } ?? 0,
            version: parts.count > 1 ? String(parts[1]) : "",
            headers: String(decoding: (try? Data(contentsOf: headerFile)) ?? Data(), as: UTF8.self).lowercased(),
            exitStatus: result.status, stderr: result.error)
    }
}
