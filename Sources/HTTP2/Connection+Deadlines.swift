import Dispatch
import Logging

/// Deadlines and shutdown, driven by the connection's timer and by the server.
extension Connection {
    /// Timer tick: lingering end, stalled output, detection/handshake and per-request deadlines, idleness.
    func checkDeadlines() {
        dispatchPrecondition(condition: .onQueue(queue))
        let now = self.now
        let limits = context
        switch phase {
        case .closed: return
        case .lingering(let until):
            if now >= until { close() }
            return
        case .draining, .open: break
        }
        if !output.isEmpty && now - lastWriteProgress > limits.idleTimeoutNanos {
            reportTimeout("output made no progress (zero window?)")
            close()
            return
        }
        guard isOpen else { return }
        guard let driver else {
            if now - openedAt > limits.readTimeoutNanos {
                reportTimeout(tls == nil ? "protocol detection" : "TLS handshake")
                close()
            }
            return
        }
        driver.checkDeadlines(now: now)
        if isOpen && !driver.hasOpenRequests && output.isEmpty && now - lastActivity > limits.idleTimeoutNanos {
            logger.debug("closing idle connection")
            driver.closeIdle()
        }
        flush()
    }

    /// Server shutdown: let the driver finish what it has, or close right away if nothing was requested yet.
    func beginGracefulShutdown() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard isOpen else { return }
        if let driver { driver.beginGracefulShutdown() } else { close() }
        flush()
    }
}
