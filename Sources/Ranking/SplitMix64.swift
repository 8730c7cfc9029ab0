#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A small seeded generator (Steele, Lea & Flood's SplitMix64): the same seed gives the same stream on
/// every platform, which makes initialisation, shuffling and tests reproducible.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [lower, upper).
    public mutating func uniform(_ lower: Double, _ upper: Double) -> Double { lower + (upper - lower) * nextUnit() }

    /// Standard normal by Box–Muller.
    public mutating func normal() -> Double {
        let u = max(nextUnit(), 0x1p-60)
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * nextUnit())
    }
}

/// Fresh parameters for a network shape: He-uniform weights (ReLU layers), small random biases,
/// embeddings N(0, 0.05²). Used by `funnel-train checkpoint init`, tests and benchmarks.
public enum RandomInitializer {
    public static func tensors(for shape: NetworkShape, seed: UInt64) -> [CheckpointWriter.Tensor] {
        var random = SplitMix64(seed: seed)
        return shape.tensors.map { tensor in
            var values = [Float](repeating: 0, count: tensor.count)
            if tensor.name.hasPrefix(shape.tensorPrefix + "embedding.") {
                for i in values.indices { values[i] = Float(0.05 * random.normal()) }
            } else if tensor.shape.count == 2 {
                let limit = (6.0 / Double(tensor.shape[0])).squareRoot()
                for i in values.indices { values[i] = Float(random.uniform(-limit, limit)) }
            } else {
                for i in values.indices { values[i] = Float(random.uniform(-0.05, 0.05)) }
            }
            return CheckpointWriter.Tensor(name: tensor.name, shape: tensor.shape, values: values)
        }
    }
}
