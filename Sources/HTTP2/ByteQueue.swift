/// A FIFO of bytes with O(1) amortised consumption from the front (output waiting for the socket).
struct ByteQueue {
    private var storage: [UInt8] = []
    private var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthIt()
        storage.append(contentsOf: bytes)
    }

    mutating func append(_ bytes: [UInt8]) {
        compactIfWorthIt()
        storage.append(contentsOf: bytes)
    }

    /// Calls `body` with the unconsumed bytes; `body` returns how many it consumed.
    mutating func consume(_ body: (UnsafeRawBufferPointer) -> Int) {
        guard !isEmpty else { return }
        let consumed = storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[head...])) }
        head += consumed
        if head == storage.count {
            // Keep a moderate buffer around; drop a large one so idle connections stay small.
            storage.removeAll(keepingCapacity: storage.capacity <= 64 * 1024)
            head = 0
        }
    }

    mutating func removeAll() {
        storage = []
        head = 0
    }

    private mutating func compactIfWorthIt() {
        if head > 0 && head >= storage.count / 2 {
            storage.removeSubrange(0..<head)
            head = 0
        }
    }
}
