import Ranking

/// What the layers of one network share for their matrix products: reusable temporary buffers (transposes, packed
/// operands, partial products), grown on demand and never shrunk, so steady-state training allocates nothing; and
/// the number of threads a product may use (the network's own setting, never a process-wide one). Used by one
/// network on one thread at a time.
final class ScratchSpace {
    enum Slot: Int, CaseIterable { case transposed, packed, product }

    /// Threads for each product (`GEMM.multiply`); 1 until the owner sets it.
    var threads = 1

    private var buffers: [AlignedFloats] = Slot.allCases.map { _ in AlignedFloats(count: 0) }

    func buffer(_ slot: Slot, count: Int) -> UnsafeMutablePointer<Float> {
        if buffers[slot.rawValue].count < count {
            buffers[slot.rawValue] = AlignedFloats(count: count + count / 4)
        }
        return buffers[slot.rawValue].pointer
    }
}
