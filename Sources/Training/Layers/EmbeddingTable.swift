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

    /// Sets every row no gradient ever reached to the mean of the rows one did, and returns how many there were.
    /// Such a row still holds its random initialisation, and an id first met at serving time (a new user hashed to
    /// an empty bucket, an unseen id's vocabulary row) would be scored through that noise; the mean of the trained
    /// rows scores it like a typical id instead (docs/TRAINING.md, "Untrained embedding rows"). A row's second
    /// moment is zero exactly when no gradient has reached it, under every embedding optimizer, and the training
    /// state keeps the moments, so a resumed run finds the same rows.
    @discardableResult func fillUntrainedRows() -> Int {
        var trained = [Bool](repeating: false, count: rows)
        var sum = [Double](repeating: 0, count: dimension)
        for row in 0..<rows {
            let moment = secondMoment.pointer + row * dimension
            guard (0..<dimension).contains(where: { moment[$0] != 0 }) else { continue }
            trained[row] = true
            let values = value.pointer + row * dimension
            for j in 0..<dimension { sum[j] += Double(values[j]) }
        }
        let trainedRows = trained.count { $0 }
        guard trainedRows > 0, trainedRows < rows else { return 0 }
        let mean = sum.map { Float($0 / Double(trainedRows)) }
        for row in 0..<rows where !trained[row] {
            (value.pointer + row * dimension).update(from: mean, count: dimension)
        }
        return rows - trainedRows
    }

    var values: [Float] { Array(UnsafeBufferPointer(start: value.pointer, count: count)) }

    func load(_ values: [Float]) {
        precondition(values.count == count, "table \(name): \(values.count) values for \(count)")
        for i in 0..<count { value.pointer[i] = values[i] }
    }
}
