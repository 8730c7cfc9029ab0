import COpenSSL

/// One connection's TLS state over memory BIOs: ciphertext in with `feed`, plaintext out of `readPlaintext`,
/// plaintext in with `write`, ciphertext out with `drainCiphertext`. No I/O of its own; used on the
/// connection's queue only. OpenSSL's error queue is per thread and Dispatch moves us between threads, so each
/// operation starts with `ERR_clear_error`.
final class TLSSession {
    enum HandshakeProgress {
        case needsMoreData
        /// ALPN's choice ("h2", "http/1.1") or `nil` when the client offered none we speak.
        case completed(alpn: String?)
        case failed(String)
    }

    enum ReadOutcome {
        case open
        /// close_notify received.
        case closedByPeer
        case failed(String)
    }

    private let ssl: OpaquePointer
    private let input: OpaquePointer
    private let output: OpaquePointer
    private(set) var isHandshakeComplete = false

    init?(context: TLSContext) {
        guard let ssl = SSL_new(context.context) else { return nil }
        guard let input = BIO_new(BIO_s_mem()), let output = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            return nil
        }
        SSL_set_bio(ssl, input, output)  // the SSL owns both BIOs from here on
        SSL_set_accept_state(ssl)
        self.ssl = ssl
        self.input = input
        self.output = output
    }

    deinit {
        SSL_free(ssl)
    }

    func feed(_ ciphertext: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < ciphertext.count {
            let chunk = min(ciphertext.count - offset, Int(Int32.max))
            let written = BIO_write(input, ciphertext.baseAddress! + offset, Int32(chunk))
            guard written > 0 else { return }
            offset += Int(written)
        }
    }

    func advanceHandshake() -> HandshakeProgress {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            isHandshakeComplete = true
            var protocolName: UnsafePointer<UInt8>?
            var length: UInt32 = 0
            SSL_get0_alpn_selected(ssl, &protocolName, &length)
            let alpn = protocolName.map {
                String(decoding: UnsafeBufferPointer(start: $0, count: Int(length)), as: UTF8.self)
            }
            return .completed(alpn: alpn)
        }
        let error = SSL_get_error(ssl, result)
        if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { return .needsMoreData }
        return .failed(TLSContext.lastError())
    }

    /// Decrypts everything buffered, handing each plaintext chunk to `body`; stops early when `shouldStop()`.
    func readPlaintext(
        shouldStop: () -> Bool, _ body: (UnsafeRawBufferPointer) -> Void
    ) -> ReadOutcome {
        withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 16) { buffer in
            while !shouldStop() {
                ERR_clear_error()
                let count = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
                if count > 0 {
                    body(UnsafeRawBufferPointer(rebasing: buffer[0..<Int(count)]))
                    continue
                }
                switch SSL_get_error(ssl, count) {
                case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .open
                case SSL_ERROR_ZERO_RETURN: return .closedByPeer
                default: return .failed(TLSContext.lastError())
                }
            }
            return .open
        }
    }

    /// Encrypts `plaintext` into the output BIO (a memory BIO takes everything), or returns `false` on failure.
    func write(_ plaintext: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < plaintext.count {
            ERR_clear_error()
            let chunk = min(plaintext.count - offset, 1 << 30)
            let written = SSL_write(ssl, plaintext.baseAddress! + offset, Int32(chunk))
            guard written > 0 else { return false }
            offset += Int(written)
        }
        return true
    }

    /// Queues close_notify.
    func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    func drainCiphertext(into queue: inout ByteQueue) {
        var draining = true
        while draining && BIO_ctrl_pending(output) > 0 {
            withUnsafeTemporaryAllocation(byteCount: 64 * 1024, alignment: 16) { buffer in
                let count = BIO_read(output, buffer.baseAddress, Int32(buffer.count))
                if count > 0 {
                    queue.append(UnsafeRawBufferPointer(rebasing: buffer[0..<Int(count)]))
                } else {
                    draining = false
                }
            }
        }
    }
}
