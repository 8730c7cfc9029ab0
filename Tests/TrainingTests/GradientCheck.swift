import Ranking
import Testing

@testable import Training

/// Central finite differences against the hand-written backward passes.
struct GradientCheck {
    var analytic: [Double] = []
    var numeric: [Double] = []

    /// Coordinates left out because the loss has a kink within ±step there (a ReLU unit or a max switching).
    var kinks = 0

    /// Records ∂f/∂value[index] by (f(x + h) − f(x − h)) / 2h next to the analytic gradient, unless the central
    /// differences with h and h/2 disagree: a smooth loss gives both to O(h²), but a ReLU unit or a max switching
    /// within the step gives a jump that scales with 1/h. Such a coordinate measures the kink, not the gradient,
    /// and is counted in `kinks` instead.
    mutating func check(
        _ value: UnsafeMutablePointer<Float>, _ index: Int, analytic gradient: Double, step: Float = 1e-3,
        refresh: () -> Void = {}, loss: () -> Double
    ) {
        let original = value[index]
        func difference(_ h: Float) -> Double {
            value[index] = original + h
            refresh()
            let plus = loss()
            value[index] = original - h
            refresh()
            let minus = loss()
            value[index] = original
            refresh()
            return (plus - minus) / Double(2 * h)
        }
        let wide = difference(step), narrow = difference(step / 2)
        if abs(wide - narrow) > 0.02 * (abs(wide) + abs(narrow)) + 2e-5 {
            kinks += 1
            return
        }
        analytic.append(gradient)
        numeric.append(wide)
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

    var analyticNorm: Double { analytic.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// The checked coordinate where analytic and numeric differ most, for failure messages.
    var worst: (analytic: Double, numeric: Double) {
        zip(analytic, numeric).max { abs($0.0 - $0.1) < abs($1.0 - $1.1) }.map { ($0.0, $0.1) } ?? (0, 0)
    }

    /// The analytic gradient is not trivially zero.
    var isNonTrivial: Bool { analytic.contains { abs($0) > 1e-6 } }
}

/// Finite differences tensor by tensor, each held to its own tolerance (a pooled error would let one small tensor's
/// wrong gradient hide behind the large ones): every coordinate of a tensor of at most `coordinatesPerTensor`
/// values, that many spread evenly over a larger one, and every coordinate of every touched row of a table.
struct TensorChecks {
    static let coordinatesPerTensor = 256
    private(set) var checks: [(name: String, check: GradientCheck)] = []

    /// No tensors yet: `add` checks buffers that are not parameters (a layer's input, a gate's logits).
    init() {}

    /// Checks every coordinate of `count` values at `values` against `analytic(i)`, as tensor `name`.
    mutating func add(
        _ name: String, _ values: UnsafeMutablePointer<Float>, count: Int, refresh: () -> Void = {},
        loss: () -> Double, analytic: (Int) -> Float
    ) {
        var check = GradientCheck()
        for i in 0..<count {
            check.check(values, i, analytic: Double(analytic(i)), refresh: refresh, loss: loss)
        }
        checks.append((name, check))
    }

    init(tables: [EmbeddingTable], dense: [Parameter], refresh: () -> Void, loss: () -> Double) {
        for table in tables {
            var check = GradientCheck()
            for row in table.touchedRows {
                for i in Int(row) * table.dimension..<(Int(row) + 1) * table.dimension {
                    check.check(table.value.pointer, i, analytic: Double(table.gradient.pointer[i]), loss: loss)
                }
            }
            checks.append((table.name, check))
        }
        for parameter in dense {
            var check = GradientCheck()
            let stride = max(1, (parameter.count + Self.coordinatesPerTensor - 1) / Self.coordinatesPerTensor)
            for i in Swift.stride(from: 0, to: parameter.count, by: stride) {
                check.check(
                    parameter.value.pointer, i, analytic: Double(parameter.gradient.pointer[i]), refresh: refresh,
                    loss: loss)
            }
            checks.append((parameter.name, check))
        }
    }

    /// Some tensor has a gradient; each one with a gradient matches its differences within `tolerance`; each one
    /// without (a zero analytic gradient) has differences that are zero too, so a gradient never written fails; and
    /// kinks leave most coordinates of every tensor checked.
    func expectAccurate(within tolerance: Double, _ context: String, sourceLocation: SourceLocation = #_sourceLocation)
    {
        #expect(
            checks.contains { $0.check.isNonTrivial }, "\(context): every gradient is zero",
            sourceLocation: sourceLocation)
        for (name, check) in checks {
            #expect(
                check.kinks <= check.numeric.count,
                "\(context): \(name) has \(check.kinks) kinks in \(check.kinks + check.numeric.count) coordinates",
                sourceLocation: sourceLocation)
            if check.isNonTrivial {
                #expect(
                    check.relativeError < tolerance,
                    """
                    \(context): \(name) relative error \(check.relativeError) (gradient norm \(check.analyticNorm); \
                    worst coordinate \(check.worst))
                    """,
                    sourceLocation: sourceLocation)
            } else {
                let largest = check.numeric.map(abs).max() ?? 0
                #expect(
                    largest < 1e-4, "\(context): \(name) has no gradient but differences up to \(largest)",
                    sourceLocation: sourceLocation)
            }
        }
    }
}

/// Seeded dense test values.
struct TestValues {
    var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func floats(_ count: Int, scale: Double = 1) -> [Float] {
        (0..<count).map { _ in Float(scale * random.normal()) }
    }
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
