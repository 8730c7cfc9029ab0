import Ranking

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Adam (Kingma & Ba) for dense parameters and *lazy* Adam for embedding rows: only rows touched by the
/// batch are updated (their moments too), with the global step's bias correction, plus L2 on those rows
/// (METHODS.md §10.7). m ← β1 m + (1 − β1) g; v ← β2 v + (1 − β2) g²; θ ← θ − lr · m̂ / (√v̂ + ε).
public struct AdamOptimizer: Sendable, Codable, Equatable {
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// L2 coefficient on touched embedding rows.
    public var embeddingL2: Double
    public private(set) var step = 0

    public init(learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, embeddingL2: Double = 1e-6) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.embeddingL2 = embeddingL2
    }

    mutating func update(dense: [Parameter], tables: [EmbeddingTable]) {
        step += 1
        let b1 = Float(beta1), b2 = Float(beta2), eps = Float(epsilon)
        let correction1 = Float(1 - pow(beta1, Double(step))), correction2 = Float(1 - pow(beta2, Double(step)))
        let rate = Float(learningRate)
        @inline(__always) func apply(_ theta: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>, _ g: Float) {
            m.pointee = b1 * m.pointee + (1 - b1) * g
            v.pointee = b2 * v.pointee + (1 - b2) * g * g
            theta.pointee -= rate * (m.pointee / correction1) / ((v.pointee / correction2).squareRoot() + eps)
        }
        for p in dense {
            for i in 0..<p.count {
                apply(p.value.pointer + i, p.firstMoment.pointer + i, p.secondMoment.pointer + i, p.gradient.pointer[i])
            }
        }
        let l2 = Float(embeddingL2)
        for table in tables {
            for row in table.touchedRows {
                let base = Int(row) * table.dimension
                for j in base..<base + table.dimension {
                    let g = table.gradient.pointer[j] + l2 * table.value.pointer[j]
                    apply(table.value.pointer + j, table.firstMoment.pointer + j, table.secondMoment.pointer + j, g)
                }
            }
        }
    }

    private enum CodingKeys: String, CodingKey {
        case beta1, beta2, epsilon, step
        case learningRate = "learning_rate"
        case embeddingL2 = "embedding_l2"
    }

    public init(from decoder: any Decoder) throws {
        let defaults = AdamOptimizer()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? defaults.learningRate
        beta1 = try c.decodeIfPresent(Double.self, forKey: .beta1) ?? defaults.beta1
        beta2 = try c.decodeIfPresent(Double.self, forKey: .beta2) ?? defaults.beta2
        epsilon = try c.decodeIfPresent(Double.self, forKey: .epsilon) ?? defaults.epsilon
        embeddingL2 = try c.decodeIfPresent(Double.self, forKey: .embeddingL2) ?? defaults.embeddingL2
        step = try c.decodeIfPresent(Int.self, forKey: .step) ?? 0
    }

    /// Restores the step count (resumed training).
    mutating func restore(step: Int) { self.step = step }
}
