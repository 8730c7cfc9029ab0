import Ranking

/// One field's embedding table [rows × dimension] with a dense gradient buffer, the list of rows touched
/// since the last step (so the optimizer and the zeroing visit only those: sparse row updates), and the
/// lazy-Adam moments.
final class EmbeddingTable {
    let name: String
    let rows: Int
    let dimension: Int
    let value: AlignedFloats
    let gradient: AlignedFloats
    let firstMoment: AlignedFloats
    let secondMoment: AlignedFloats
    private(set) var touchedRows: [Int32] = []
    private var touched: RowBuffer<Bool>

    /// N(0, 0.05²) entries: `RandomInitializer`'s convention.
    init(name: String, rows: Int, dimension: Int, random: inout SplitMix64) {
        self.name = name
        self.rows = rows
        self.dimension = dimension
        let count = rows * dimension
        value = AlignedFloats(count: count)
        gradient = AlignedFloats(count: count)
        firstMoment = AlignedFloats(count: count)
        secondMoment = AlignedFloats(count: count)
        touched = RowBuffer(count: rows, zero: false)
        for i in 0..<count { value.pointer[i] = Float(0.05 * random.normal()) }
    }

    var count: Int { rows * dimension }

    /// ∂L/∂table[row] += weight · g (g has `dimension` floats).
    @inline(__always) func accumulate(row: Int, weight: Float, _ g: UnsafePointer<Float>) {
        if !touched[row] {
            touched[row] = true
            touchedRows.append(Int32(row))
        }
        let target = gradient.pointer + row * dimension
        for j in 0..<dimension { target[j] += weight * g[j] }
    }

    /// Clears the gradient of the touched rows only.
    func zeroGradient() {
        for row in touchedRows {
            (gradient.pointer + Int(row) * dimension).update(repeating: 0, count: dimension)
            touched[Int(row)] = false
        }
        touchedRows.removeAll(keepingCapacity: true)
    }

    var values: [Float] { Array(UnsafeBufferPointer(start: value.pointer, count: count)) }

    func load(_ values: [Float]) {
        precondition(values.count == count, "table \(name): \(values.count) values for \(count)")
        for i in 0..<count { value.pointer[i] = values[i] }
    }
}
