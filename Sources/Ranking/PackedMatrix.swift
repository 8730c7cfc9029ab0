import CFunnelKernels

/// A 64-byte-aligned float buffer allocated once; the unit of every preallocated inference buffer.
public final class AlignedFloats: @unchecked Sendable {  // written only by its owner (a workspace) or at init
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 16) * 4, alignment: 64)
        pointer = raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 16))
    }

    public convenience init(_ values: some Collection<Float>) {
        self.init(count: values.count)
        _ = UnsafeMutableBufferPointer(start: pointer, count: count).initialize(from: values)
    }

    deinit { pointer.deallocate() }
}

/// A weight matrix B [k × n] in the panel layout of `funnel_gemm` (include/funnel_kernels.h), packed once
/// at model load so every batch streams it from cache in kernel order.
public struct PackedMatrix: Sendable {
    public let rows: Int
    public let columns: Int
    private let storage: AlignedFloats

    /// Packs `rows` rows of a row-major matrix with `stride` floats per row.
    public init(_ values: UnsafePointer<Float>, rows: Int, columns: Int, stride: Int) {
        self.rows = rows
        self.columns = columns
        storage = AlignedFloats(count: funnel_packed_count(Int32(rows), Int32(columns)))
        funnel_pack(Int32(rows), Int32(columns), values, Int32(stride), storage.pointer)
    }

    /// C [m × columns] = A [m × rows] · B + bias, ReLU on columns < reluColumns (see `funnel_gemm`).
    @inline(__always)
    public func multiply(
        _ a: UnsafePointer<Float>, rows m: Int, stride lda: Int, bias: UnsafePointer<Float>?,
        into c: UnsafeMutablePointer<Float>, stride ldc: Int, reluColumns: Int
    ) {
        funnel_gemm(
            Int32(m), Int32(columns), Int32(rows), a, Int32(lda), storage.pointer, bias, c, Int32(ldc),
            Int32(reluColumns))
    }
}
