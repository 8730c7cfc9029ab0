import Logging

/// Inbound bytes: TLS or cleartext from the first byte, then h2 or HTTP/1.1 from the first plaintext bytes.
extension Connection {
    /// The HTTP/2 client connection preface (RFC 9113 §3.4).
    static let http2Preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    /// First byte of a TLS handshake record.
    static let tlsHandshakeRecord: UInt8 = 0x16

    func received(_ bytes: UnsafeRawBufferPointer) {
        guard isOpen else { return }  // draining or lingering: the peer's input is discarded
        if let tls {
            tls.feed(bytes)
            pumpTLS()
            return
        }
        if !isTransportDecided {
            isTransportDecided = true
            if bytes.first == Self.tlsHandshakeRecord {
                guard let context = context.tls, let session = TLSSession(context: context) else {
                    reportProtocolError("TLS handshake on a cleartext-only server")
                    close()
                    return
                }
                tls = session
                session.feed(bytes)
                pumpTLS()
                return
            }
            if let tls = context.configuration.tls, !tls.allowsCleartext {
                refuseCleartext(bytes)
                return
            }
        }
        receivePlaintext(bytes)
    }

    /// Cleartext on a TLS-only port: HTTP/1.1 gets a readable 400 (as nginx does), anything else is closed.
    private func refuseCleartext(_ bytes: UnsafeRawBufferPointer) {
        reportProtocolError("cleartext connection on a TLS-only port")
        if !bytes.starts(with: Self.http2Preface.prefix(bytes.count)) {
            send(
                HTTP1ResponseSerializer.serialize(
                    TransportError.tlsRequired.response, isHead: false, isHTTP10: false, closesConnection: true))
        }
        closeAfterFlush()
    }

    private func pumpTLS() {
        guard let tls else { return }
        if !tls.isHandshakeComplete {
            switch tls.advanceHandshake() {
            case .needsMoreData:
                tls.drainCiphertext(into: &output)
                return
            case .failed(let reason):
                tls.drainCiphertext(into: &output)  // the alert, if any
                reportProtocolError("TLS handshake failed: \(reason)")
                closeAfterFlush()
                return
            case .completed(let alpn):
                tls.drainCiphertext(into: &output)
                logger.debug("TLS established", metadata: ["alpn": "\(alpn ?? "none")"])
                if alpn == "h2" { install(HTTP2Connection(connection: self)) }
            }
        }
        let outcome = tls.readPlaintext(shouldStop: { !isOpen }, { receivePlaintext($0) })
        tls.drainCiphertext(into: &output)
        switch outcome {
        case .open: break
        case .closedByPeer: peerClosedInput()
        case .failed(let reason):
            reportProtocolError("TLS: \(reason)")
            close()
        }
    }

    private func receivePlaintext(_ bytes: UnsafeRawBufferPointer) {
        guard isOpen else { return }
        if let driver {
            driver.receive(bytes)
            return
        }
        detectionBuffer.append(contentsOf: bytes)
        let compared = min(detectionBuffer.count, Self.http2Preface.count)
        if detectionBuffer[0..<compared].elementsEqual(Self.http2Preface[0..<compared]) {
            guard compared == Self.http2Preface.count else { return }  // a prefix of the preface: wait
            install(HTTP2Connection(connection: self))
        } else {
            install(HTTP1Connection(connection: self))
        }
        let buffered = detectionBuffer
        detectionBuffer = []
        buffered.withUnsafeBytes { driver?.receive($0) }
    }

    /// Makes `driver` the connection's protocol, or closes if it could not be created.
    func install(_ driver: (any ProtocolDriver)?) {
        guard let driver else {
            logger.error("could not create protocol session")
            close()
            return
        }
        self.driver = driver
    }
}
