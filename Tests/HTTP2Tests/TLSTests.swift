import Foundation
import HTTP2
import Testing

/// TLS on the same port: ALPN picks h2 or http/1.1; the certificate is made here with the openssl CLI.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct TLSTests {
    private func makeCertificate(commonName: String = "localhost", in existing: URL? = nil) throws -> (
        certificate: URL, key: URL
    ) {
        let directory =
            existing ?? FileManager.default.temporaryDirectory.appendingPathComponent("http2-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = directory.appendingPathComponent("cert.pem")
        let key = directory.appendingPathComponent("key.pem")
        let result = try Command.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                "-subj", "/CN=\(commonName)", "-keyout", key.path, "-out", certificate.path,
            ])
        try #require(result.status == 0, "\(result.error)")
        return (certificate, key)
    }

    @Test func alpnSelectsH2OrHTTP1() throws {
        let (certificate, key) = try makeCertificate()
        defer { try? FileManager.default.removeItem(at: certificate.deletingLastPathComponent()) }
        let server = try TestServer {
            $0.tls = .init(certificatePath: certificate.path, privateKeyPath: key.path)
        }
        let url = "https://127.0.0.1:\(server.port)/echo"
        let h2 = try CurlFetch.run(["-k", "--http2", "--data-binary", "over tls", url])
        #expect(h2.status == 200)
        #expect(h2.version == "2")
        #expect(h2.text == "over tls")
        let h1 = try CurlFetch.run(["-k", "--http1.1", "--data-binary", "over tls 1.1", url])
        #expect(h1.status == 200)
        #expect(h1.version == "1.1")
        #expect(h1.text == "over tls 1.1")
        let big = try CurlFetch.run([
            "-k", "--http2", "--compressed", "https://127.0.0.1:\(server.port)/big?bytes=200000",
        ])
        #expect(big.body.count == 200_000)
        let nghttp = try Command.run("/usr/bin/nghttp", ["-n", "-m", "20", "-t", "20", url])
        #expect(nghttp.status == 0)
    }

    @Test func cleartextIsRefusedUnlessAllowed() throws {
        let (certificate, key) = try makeCertificate()
        defer { try? FileManager.default.removeItem(at: certificate.deletingLastPathComponent()) }
        let strict = try TestServer { $0.tls = .init(certificatePath: certificate.path, privateKeyPath: key.path) }
        let h1 = try CurlFetch.run(["--http1.1", "\(strict.base)/echo"])
        #expect(h1.status == 400)
        #expect(h1.text.contains("tls_required"))
        let h2c = try Command.run("/usr/bin/curl", ["-s", "--http2-prior-knowledge", "\(strict.base)/echo"])
        #expect(h2c.status != 0)  // closed without an answer
        let tls = try CurlFetch.run(["-k", "--http2", "https://127.0.0.1:\(strict.port)/echo"])
        #expect(tls.status == 200)

        let lenient = try TestServer {
            $0.tls = .init(certificatePath: certificate.path, privateKeyPath: key.path, allowsCleartext: true)
        }
        #expect(try CurlFetch.run(["--http2-prior-knowledge", "\(lenient.base)/echo"]).status == 200)
        #expect(try CurlFetch.run(["--http1.1", "\(lenient.base)/echo"]).status == 200)
        #expect(try CurlFetch.run(["-k", "--http1.1", "https://127.0.0.1:\(lenient.port)/echo"]).status == 200)
    }

    @Test func certificateReloadAppliesToNewConnections() throws {
        let (certificate, key) = try makeCertificate(commonName: "first")
        let directory = certificate.deletingLastPathComponent()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try TestServer { $0.tls = .init(certificatePath: certificate.path, privateKeyPath: key.path) }
        func servedSubject() throws -> String {
            let probe = try Command.run(
                "/usr/bin/curl", ["-k", "-v", "-s", "-o", "/dev/null", "https://127.0.0.1:\(server.port)/echo"])
            return probe.error.split(separator: "\n").first { $0.contains("subject:") }.map(String.init) ?? probe.error
        }
        #expect(try servedSubject().contains("CN=first"))
        _ = try makeCertificate(commonName: "second", in: directory)
        try server.server.reloadTLSCertificate()
        #expect(try servedSubject().contains("CN=second"))
        // A broken pair is refused and the one in use keeps serving.
        try Data("not a certificate".utf8).write(to: certificate)
        #expect(throws: HTTPServerError.self) { try server.server.reloadTLSCertificate() }
        #expect(try servedSubject().contains("CN=second"))
    }

    @Test func missingCertificateFailsStart() {
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.tls = .init(certificatePath: "/nonexistent/cert.pem", privateKeyPath: "/nonexistent/key.pem")
        let server = HTTPServer(configuration: configuration, handler: TestHandler())
        #expect(throws: HTTPServerError.self) { try server.start() }
    }
}
