import COpenSSL

/// The server's `SSL_CTX`: certificate chain and key, TLS 1.2 or newer, no compression or renegotiation,
/// ALPN preferring h2 over http/1.1. Immutable after `init`; OpenSSL allows `SSL_new` on it from any thread.
final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer

    init(_ configuration: HTTPServerConfiguration.TLS) throws(HTTPServerError) {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw .tls(Self.lastError()) }
        self.context = context
        // SSL_OP_* are built with a function-like macro Swift cannot import: NO_COMPRESSION (bit 17),
        // CIPHER_SERVER_PREFERENCE (bit 22), NO_RENEGOTIATION (bit 30); RFC 9113 §9.2 forbids the first and last.
        _ = SSL_CTX_set_options(context, (1 << 17) | (1 << 22) | (1 << 30))
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        guard SSL_CTX_use_certificate_chain_file(context, configuration.certificatePath) == 1 else {
            throw .tls("certificate \(configuration.certificatePath): \(Self.lastError())")
        }
        guard SSL_CTX_use_PrivateKey_file(context, configuration.privateKeyPath, SSL_FILETYPE_PEM) == 1,
            SSL_CTX_check_private_key(context) == 1
        else { throw .tls("private key \(configuration.privateKeyPath): \(Self.lastError())") }
        SSL_CTX_set_alpn_select_cb(context, selectALPN, nil)
    }

    deinit {
        SSL_CTX_free(context)
    }

    /// OpenSSL's most recent error on this thread as text, clearing the queue.
    static func lastError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown error" }
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &text, text.count)
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// ALPN protocols the server offers, in preference order, in wire format; OpenSSL may point into it, so it
/// lives for the whole process.
private nonisolated(unsafe) let serverProtocols: UnsafeMutablePointer<UInt8> = {
    let wire: [UInt8] = [2] + Array("h2".utf8) + [8] + Array("http/1.1".utf8)
    let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: wire.count)
    pointer.initialize(from: wire, count: wire.count)
    return pointer
}()
private let serverProtocolsLength: UInt32 = 12

/// Picks the first server protocol the client offers; without overlap the handshake continues without ALPN
/// and the connection falls back to sniffing the plaintext (HTTP/1.1 or the h2 preface).
private let selectALPN:
    @convention(c) (
        OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
        UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
    ) -> Int32 = { _, out, outLength, clientProtocols, clientLength, _ in
        guard let out, let outLength, let clientProtocols else { return SSL_TLSEXT_ERR_NOACK }
        // OpenSSL hands `const unsigned char **` but SSL_select_next_proto wants `unsigned char **`.
        let result = out.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 1) {
            SSL_select_next_proto($0, outLength, serverProtocols, serverProtocolsLength, clientProtocols, clientLength)
        }
        return result == OPENSSL_NPN_NEGOTIATED ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK
    }
