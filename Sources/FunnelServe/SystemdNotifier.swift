import Glibc

/// systemd's service notification protocol (sd_notify(3)): newline-separated `KEY=value` assignments in one
/// datagram to the AF_UNIX socket named by `$NOTIFY_SOCKET` (a leading `@` names the abstract namespace). The
/// protocol is stable and documented for reimplementation; without the variable (not under `Type=notify`) every
/// call does nothing.
struct SystemdNotifier: Sendable {
    private let socketPath: [UInt8]?

    init(socketPath: String?) {
        self.socketPath = socketPath.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
    }

    /// Best effort: a failure to notify is never fatal for the daemon.
    func notify(_ assignments: String) {
        guard var path = socketPath else { return }
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        var address = sockaddr_un()
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { return }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let length = socklen_t(MemoryLayout.offset(of: \sockaddr_un.sun_path)! + path.count)
        var message = Array(assignments.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, &message, message.count, Int32(MSG_NOSIGNAL), $0, length)
            }
        }
    }
}
