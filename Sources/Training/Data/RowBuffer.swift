/// A fixed-capacity, zero-initialised buffer of plain values with a stable address (so encoders and
/// kernels can write through pointers while the owner keeps it alive).
public final class RowBuffer<Element: BitwiseCopyable>: @unchecked Sendable {  // confined to its owner's thread
    public let pointer: UnsafeMutablePointer<Element>
    public let count: Int

    public init(count: Int, zero: Element) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: zero, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

    public subscript(index: Int) -> Element {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }
}
