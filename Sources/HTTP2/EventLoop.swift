import CEpoll
import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// One event loop of the transport: an epoll set of connections, watched by a single Dispatch read source on the
/// epoll descriptor, and one serial queue that all its connections run on, with one deadline timer.
///
/// Why not a Dispatch source per socket: on Linux, libdispatch's event thread re-arms each source after every event
/// and hands the event to a worker thread, so every readable socket costs a thread switch, an eventfd wake-up and
/// `epoll_ctl` calls (measured: 2.9 context switches and 2 `epoll_ctl` per 10-request batch of `GET /healthz`). Here
/// a readable epoll set wakes one worker, which takes every ready connection in one pass, as nghttpd's loop does;
/// interest changes (backpressure, pending output) are the only `epoll_ctl` calls. Level-triggered, so a connection
/// that stops reading after a short read, or after its per-event read budget, is simply reported again.
final class EventLoop: @unchecked Sendable {  // everything but `queue` is confined to `queue`
    let queue: DispatchQueue
    private let epollFD: Int32
    private var source: (any DispatchSourceRead)?
    private var timer: (any DispatchSourceTimer)?
    private var connections: [Int32: Connection] = [:]
    private let events: UnsafeMutablePointer<epoll_event>
    private static let batch = 64

    init?(label: String) {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { return nil }
        queue = DispatchQueue(label: label, target: .global())
        events = .allocate(capacity: Self.batch)
    }

    deinit {
        events.deallocate()
        _ = Glibc.close(epollFD)
    }

    /// Starts watching the epoll set, and checks every connection's deadlines each `deadlineInterval` nanoseconds.
    func start(deadlineInterval: UInt64) {
        queue.async { [self] in
            let source = DispatchSource.makeReadSource(fileDescriptor: epollFD, queue: queue)
            source.setEventHandler { [self] in poll() }
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(
                deadline: .now() + .nanoseconds(Int(deadlineInterval)), repeating: .nanoseconds(Int(deadlineInterval)),
                leeway: .nanoseconds(Int(deadlineInterval / 4)))
            timer.setEventHandler { [self] in
                for connection in Array(connections.values) { connection.checkDeadlines() }
            }
            self.source = source
            self.timer = timer
            source.resume()
            timer.resume()
        }
    }

    /// Stops watching; connections still registered are left as they are (the server closed them first).
    func stop() {
        queue.async { [self] in
            source?.cancel()
            timer?.cancel()
            source = nil  // the handlers' references to the loop go with the sources
            timer = nil
        }
    }

    /// Adds a connection, reading. On the loop's queue.
    func register(_ connection: Connection) -> Bool {
        dispatchPrecondition(condition: .onQueue(queue))
        guard control(EPOLL_CTL_ADD, connection.fd, reading: true, writing: false) else { return false }
        connections[connection.fd] = connection
        return true
    }

    /// Changes what a registered connection waits for.
    func update(_ connection: Connection, reading: Bool, writing: Bool) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard connections[connection.fd] === connection else { return }
        _ = control(EPOLL_CTL_MOD, connection.fd, reading: reading, writing: writing)
    }

    /// Removes a connection before its descriptor is closed.
    func unregister(_ connection: Connection) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard connections[connection.fd] === connection else { return }
        connections[connection.fd] = nil
        _ = control(EPOLL_CTL_DEL, connection.fd, reading: false, writing: false)
    }

    private func control(_ operation: Int32, _ fd: Int32, reading: Bool, writing: Bool) -> Bool {
        var event = epoll_event()
        event.events = (reading ? EPOLLIN.rawValue | EPOLLRDHUP.rawValue : 0) | (writing ? EPOLLOUT.rawValue : 0)
        event.data.fd = fd
        return epoll_ctl(epollFD, operation, fd, &event) == 0
    }

    /// Every ready connection, in one pass (a few passes while the set keeps filling the batch).
    private func poll() {
        for _ in 0..<4 {
            let count = epoll_wait(epollFD, events, Int32(Self.batch), 0)
            guard count > 0 else { return }
            for index in 0..<Int(count) {
                let event = events[index]
                // Closed earlier in this pass (its descriptor number is not reused before the pass ends).
                guard let connection = connections[event.data.fd] else { continue }
                let flags = event.events
                if flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                    connection.handleReadable()
                }
                if flags & EPOLLOUT.rawValue != 0 { connection.handleWritable() }
                // Hung up or failed while not reading: nothing more can be exchanged, and the set would report it
                // on every pass.
                if flags & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 && !connection.isClosed { connection.close() }
            }
            if count < Self.batch { return }
        }
    }
}
