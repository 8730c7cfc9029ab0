import Dispatch
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One accepted socket: its event loop's queue (`EventLoop`), the output buffer, TLS, and the protocol driver
/// (HTTP/1.1 or HTTP/2) chosen from the first bytes. All state is confined to `queue`.
///
/// Lifecycle: `open` → (`draining`: output is flushed, then the write side is shut) → `lingering` (input read and
/// discarded briefly so the peer gets our last bytes before any RST) → `closed`. The descriptor is closed right
/// after it left the loop's epoll set.
final class Connection: @unchecked Sendable {
    enum Phase {
        case open
        case draining
        case lingering(until: UInt64)
        case closed
    }

    /// How long a closing connection keeps draining the peer's input.
    static let lingerNanos: UInt64 = 2_000_000_000

    let fd: Int32
    let peer: String
    let loop: EventLoop
    var queue: DispatchQueue { loop.queue }
    let context: ServerContext
    let logger: Logger
    private let onClosed: @Sendable (Connection) -> Void

    /// What the loop waits for on this socket.
    private var isReading = false
    private var isWriting = false
    var output = ByteQueue()
    var tls: TLSSession?
    /// Plaintext seen before the protocol is known.
    var detectionBuffer: [UInt8] = []
    var isTransportDecided = false
    var driver: (any ProtocolDriver)?
    private(set) var phase = Phase.open
    var isInputEnded = false
    let openedAt: UInt64
    /// Last request traffic, as the driver defines it (h2: complete frames; h1: bytes).
    var lastActivity: UInt64
    /// When the current batch of input was read (one clock read per readable event, not per frame).
    var readAt: UInt64
    /// Last time queued output made progress (or became non-empty).
    var lastWriteProgress: UInt64

    init(
        fd: Int32, peer: String, context: ServerContext, loop: EventLoop,
        onClosed: @escaping @Sendable (Connection) -> Void
    ) {
        self.fd = fd
        self.peer = peer
        self.context = context
        self.loop = loop
        self.onClosed = onClosed
        var logger = context.logger
        logger[metadataKey: "peer"] = "\(peer)"
        self.logger = logger
        openedAt = DispatchTime.now().uptimeNanoseconds
        lastActivity = openedAt
        readAt = openedAt
        lastWriteProgress = openedAt
    }

    var isOpen: Bool {
        if case .open = phase { return true }
        return false
    }

    var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    var outputByteCount: Int { output.count }
    var hasOutputRoom: Bool { output.count < context.configuration.maxOutputBufferBytes }
    var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    func start() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard loop.register(self) else {
            logger.error("could not watch the connection", metadata: ["errno": "\(errno)"])
            phase = .closed
            finalize()
            return
        }
        isReading = true
        logger.debug("connection opened")
    }

    /// Tells the loop what to wait for, when that changed.
    private func watch(reading: Bool, writing: Bool) {
        guard reading != isReading || writing != isWriting else { return }
        isReading = reading
        isWriting = writing
        loop.update(self, reading: reading, writing: writing)
    }

    // MARK: Output

    /// Queues plaintext for the peer (encrypting it under TLS). Call `flush()` to write.
    func send(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        switch phase {
        case .open, .draining: break
        case .lingering, .closed: return
        }
        if output.isEmpty { lastWriteProgress = now }
        if let tls {
            guard tls.write(bytes) else {
                reportProtocolError("TLS write failed")
                close()
                return
            }
            tls.drainCiphertext(into: &output)
        } else {
            output.append(bytes)
        }
    }

    func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { send($0) }
    }

    /// Writes queued output and updates read interest (backpressure). Never calls back into the driver.
    func flush() {
        writeOutput()
        updateReadInterest()
    }

    private func writeOutput() {
        while !output.isEmpty {
            guard case .transferred = phaseAllowsWriting ? writeOnce() : .wouldBlock else { break }
        }
        guard !isClosed else { return }
        if output.isEmpty {
            watch(reading: isReading, writing: false)
            if case .draining = phase { finishDraining() }
        } else {
            watch(reading: isReading, writing: true)
        }
    }

    private var phaseAllowsWriting: Bool {
        switch phase {
        case .open, .draining: true
        case .lingering, .closed: false
        }
    }

    private func writeOnce() -> Socket.IOResult {
        var result = Socket.IOResult.wouldBlock
        output.consume { bytes in
            result = Socket.write(fd, bytes)
            if case .transferred(let count) = result { return count }
            return 0
        }
        switch result {
        case .transferred: lastWriteProgress = now
        case .failed(let code):
            logger.debug("write failed", metadata: ["errno": "\(code)"])
            close()
        case .wouldBlock, .endOfFile: break
        }
        return result
    }

    func handleWritable() {
        dispatchPrecondition(condition: .onQueue(queue))
        writeOutput()
        if isOpen && hasOutputRoom { driver?.outputDidDrain() }
        flush()
    }

    // MARK: Input

    func handleReadable() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard isReading, !isClosed else { return }
        readAt = now
        let buffer = ThreadReadBuffer.current
        // Until a short read (the socket is drained: no read that ends in EAGAIN), at most a few reads per event,
        // then yield the thread to other connections.
        reading: for _ in 0..<4 {
            guard isReading, !isClosed else { break }
            switch Socket.read(fd, into: buffer) {
            case .transferred(let count):
                received(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                if count < buffer.count { break reading }
            case .wouldBlock: break reading
            case .endOfFile:
                peerClosedInput()
                break reading
            case .failed(let code):
                logger.debug("read failed", metadata: ["errno": "\(code)"])
                close()
                break reading
            }
        }
        flush()
    }

    /// Starts or stops reading: not while output is over its limit, the driver is saturated or input ended.
    func updateReadInterest() {
        let wanted: Bool
        switch phase {
        case .open: wanted = !isInputEnded && hasOutputRoom && (driver?.wantsInput ?? true)
        case .draining, .lingering: wanted = !isInputEnded
        case .closed: return
        }
        watch(reading: wanted, writing: isWriting)
    }

    func peerClosedInput() {
        isInputEnded = true
        switch phase {
        case .open:
            if let driver { driver.inputDidEnd() } else { close() }
        case .draining: break
        case .lingering: close()
        case .closed: return
        }
        updateReadInterest()
    }

    // MARK: Closing

    /// Flushes queued output, shuts the write side, lingers briefly, then closes.
    func closeAfterFlush() {
        guard isOpen else { return }
        phase = .draining
        if let tls {
            tls.shutdown()
            tls.drainCiphertext(into: &output)
        }
        flush()
    }

    private func finishDraining() {
        Socket.shutdownWrite(fd)
        if isInputEnded {
            close()
        } else {
            phase = .lingering(until: now + Self.lingerNanos)
            updateReadInterest()
        }
    }

    /// Closes now: cancels open requests, leaves the loop and closes the descriptor.
    func close() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !isClosed else { return }
        phase = .closed
        let driver = self.driver
        self.driver = nil
        driver?.connectionDidClose()
        output.removeAll()
        loop.unregister(self)
        isReading = false
        isWriting = false
        finalize()
    }

    private func finalize() {
        Socket.close(fd)
        tls = nil
        context.counters.openConnections.subtract(1, ordering: .relaxed)
        logger.debug("connection closed")
        onClosed(self)
    }

    func reportProtocolError(_ message: String) {
        context.counters.protocolErrors.add(1, ordering: .relaxed)
        logger.info("protocol error: \(message)")
    }

    func reportTimeout(_ message: String) {
        context.counters.timeouts.add(1, ordering: .relaxed)
        logger.debug("timeout: \(message)")
    }
}
