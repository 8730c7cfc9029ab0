import Ranking
@testable import Training

/// Central finite differences against the hand-written backward passes.
struct GradientCheck {
    var analytic: [Double] = []
    var numeric: [Double] = []

    /// Records ∂f/∂value[index] by (f(x + h) − f(x − h)) / 2h next to the analytic gradient.
    mutating func check(
        _ value: UnsafeMutablePointer<Float>, _ index: Int, analytic gradient: Double, step: Float = 3e-3,
        refresh: () -> Void = {}, loss: () -> Double
    ) {
        let original = value[index]
        value[index] = original + step
        refresh()
        let plus = loss()
        value[index] = original - step
        refresh()
        let minus = loss()
        value[index] = original
        refresh()
        analytic.append(gradient)
        numeric.append((plus - minus) / Double(2 * step))
    }

    /// ‖analytic − numeric‖ / (‖analytic‖ + ‖numeric‖): the usual scale-free comparison.
    var relativeError: Double {
        var difference = 0.0, a = 0.0, n = 0.0
        for (x, y) in zip(analytic, numeric) {
            difference += (x - y) * (x - y)
            a += x * x
            n += y * y
        }
        return difference.squareRoot() / max(a.squareRoot() + n.squareRoot(), 1e-12)
    }

    /// The analytic gradient is not trivially zero.
    var isNonTrivial: Bool { analytic.contains { abs($0) > 1e-6 } }
}

/// Seeded dense test values.
struct TestValues {
    var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func floats(_ count: Int, scale: Double = 1) -> [Float] { (0..<count).map { _ in Float(scale * random.normal()) } }
}

/// A heap copy of test values with a stable address, so a loss closure can read what a check perturbs.
final class TestBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ values: [Float]) {
        count = values.count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(from: values, count: count)
    }

    deinit { pointer.deallocate() }

    var values: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
