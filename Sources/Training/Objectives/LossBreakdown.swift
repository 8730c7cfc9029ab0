/// The terms of one batch's loss (each already multiplied by its weight), for progress and tests.
public struct LossBreakdown: Sendable, Equatable {
    public var terms: [String: Double] = [:]

    public init() {}

    public var total: Double { terms.values.reduce(0, +) }

    mutating func add(_ name: String, _ value: Double) { terms[name, default: 0] += value }
}
