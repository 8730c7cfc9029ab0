/// HTTP/1.1 or HTTP/2 on top of one connection's plaintext byte stream.
/// Every requirement is called on the connection's queue only.
protocol ProtocolDriver: AnyObject {
    /// Plaintext bytes from the peer.
    func receive(_ bytes: UnsafeRawBufferPointer)
    /// The output buffer went below its limit: produce what was held back.
    func outputDidDrain()
    /// The peer closed its sending side (EOF or TLS close_notify).
    func inputDidEnd()
    /// A request is partly received or waiting for its answer.
    var hasOpenRequests: Bool { get }
    /// `false` while the driver wants the connection to stop reading (h1 pipeline full).
    var wantsInput: Bool { get }
    /// Enforces per-request deadlines; `now` is `DispatchTime.now().uptimeNanoseconds`.
    func checkDeadlines(now: UInt64)
    /// The connection was idle too long: close politely (h2: GOAWAY).
    func closeIdle()
    /// Server shutdown: answer what was received, accept nothing new, then close.
    func beginGracefulShutdown()
    /// The connection is gone: cancel everything still open. Called once, last.
    func connectionDidClose()
}
