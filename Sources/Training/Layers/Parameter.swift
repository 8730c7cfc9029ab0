import Ranking

/// A dense trainable tensor with its gradient and Adam moments, named as in `NetworkShape`.
final class Parameter {
    let name: String
    let shape: [Int]
    let count: Int
    let value: AlignedFloats
    let gradient: AlignedFloats
    let firstMoment: AlignedFloats
    let secondMoment: AlignedFloats

    /// He-uniform for matrices (ReLU layers), U(−0.05, 0.05) for vectors: `RandomInitializer`'s convention.
    init(name: String, shape: [Int], random: inout SplitMix64) {
        self.name = name
        self.shape = shape
        count = shape.reduce(1, *)
        value = AlignedFloats(count: count)
        gradient = AlignedFloats(count: count)
        firstMoment = AlignedFloats(count: count)
        secondMoment = AlignedFloats(count: count)
        if shape.count == 2 {
            let limit = (6.0 / Double(shape[0])).squareRoot()
            for i in 0..<count { value.pointer[i] = Float(random.uniform(-limit, limit)) }
        } else {
            for i in 0..<count { value.pointer[i] = Float(random.uniform(-0.05, 0.05)) }
        }
    }

    var values: [Float] { Array(UnsafeBufferPointer(start: value.pointer, count: count)) }

    func load(_ values: [Float]) {
        precondition(values.count == count, "parameter \(name): \(values.count) values for \(count)")
        for i in 0..<count { value.pointer[i] = values[i] }
    }

    func zeroGradient() { gradient.pointer.update(repeating: 0, count: count) }
}
