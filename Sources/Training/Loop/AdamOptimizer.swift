import Ranking

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Adam (Kingma & Ba) for dense parameters and *lazy* Adam for embedding rows: only rows touched by the
/// batch are updated (their moments too), with the global step's bias correction, plus L2 on those rows
/// (docs/MODELS.md §7). m ← β1 m + (1 − β1) g; v ← β2 v + (1 − β2) g²; θ ← θ − lr_t · m̂ / (√v̂ + ε).
///
/// lr_t follows `schedule` over the steps the trainer plans for the run (`plan(totalSteps:)`): constant, or
/// decaying linearly or by a half cosine from `learningRate` to `finalLearningRateFraction · learningRate` at
/// the last step. Adam's step is ≈ lr per parameter whatever the gradient's size, so at a constant rate the
/// model keeps moving by as much at the end of the epoch as in the middle, and where the last mini-batches leave
/// the output level is noise (docs/TRAINING.md, "Calibration"); the decay averages it out. Defaults (cosine from
/// 3e-3 to 3e-4) were chosen on the validation world, seed 99.
public struct AdamOptimizer: Sendable, Codable, Equatable {
    public enum Schedule: String, Sendable, Codable, CaseIterable {
        case constant, linear, cosine
    }

    /// How embedding rows are updated (`embedding_optimizer`).
    public enum EmbeddingRule: String, Sendable, Codable, CaseIterable {
        /// Adam on the rows a batch touched only; the others keep their values and moments.
        case lazyAdam = "lazy_adam"
        /// Adam on every row every step (what a dense framework optimizer does): untouched rows' moments decay
        /// and their values keep drifting along the old first moment.
        case adam
        /// Adagrad on the touched rows: θ ← θ − lr · g / (√(Σ g²) + 10⁻⁷), a step that shrinks with the row's own
        /// history (frequent ids settle, rare ones keep learning).
        case adagrad
    }

    public var learningRate: Double = 3e-3
    public var schedule: Schedule = .cosine
    /// lr at the last planned step as a fraction of `learningRate` (linear and cosine schedules).
    public var finalLearningRateFraction: Double = 0.1
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var epsilon: Double = 1e-8
    /// L2 coefficient on touched embedding rows.
    public var embeddingL2: Double = 1e-6
    public var embeddingRule: EmbeddingRule = .lazyAdam
    /// The embedding rows' learning rate (following the same schedule); nil: `learningRate`.
    public var embeddingLearningRate: Double?
    public private(set) var step = 0
    /// Steps the schedule spans (set by `Trainer.train`); nil: `learningRate` throughout.
    public private(set) var plannedSteps: Int?

    public init() {}

    /// Makes the schedule end at step `totalSteps` (counted from the first step of the optimizer's life, so a
    /// resumed run continues the decay towards the end of the data it is given).
    mutating func plan(totalSteps: Int) { plannedSteps = max(totalSteps, 1) }

    /// lr of optimizer step `step` (1-based).
    public func learningRate(atStep step: Int) -> Double {
        guard schedule != .constant, let plannedSteps, plannedSteps > 1 else { return learningRate }
        let progress = min(max(Double(step - 1) / Double(plannedSteps - 1), 0), 1)
        let shape = schedule == .linear ? 1 - progress : 0.5 * (1 + cos(Double.pi * progress))
        return learningRate * (finalLearningRateFraction + (1 - finalLearningRateFraction) * shape)
    }

    mutating func update(dense: [Parameter], tables: [EmbeddingTable]) {
        step += 1
        let b1 = Float(beta1), b2 = Float(beta2), eps = Float(epsilon)
        let correction1 = Float(1 - pow(beta1, Double(step))), correction2 = Float(1 - pow(beta2, Double(step)))
        let rate = Float(learningRate(atStep: step))
        @inline(__always) func apply(
            _ theta: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
            _ g: Float, rate: Float
        ) {
            m.pointee = b1 * m.pointee + (1 - b1) * g
            v.pointee = b2 * v.pointee + (1 - b2) * g * g
            theta.pointee -= rate * (m.pointee / correction1) / ((v.pointee / correction2).squareRoot() + eps)
        }
        for p in dense {
            for i in 0..<p.count {
                apply(
                    p.value.pointer + i, p.firstMoment.pointer + i, p.secondMoment.pointer + i, p.gradient.pointer[i],
                    rate: rate)
            }
        }
        let l2 = Float(embeddingL2)
        let tableRate = Float(learningRate(atStep: step) * (embeddingLearningRate ?? learningRate) / learningRate)
        for table in tables {
            let (value, gradient) = (table.value.pointer, table.gradient.pointer)
            let (m, v) = (table.firstMoment.pointer, table.secondMoment.pointer)
            switch embeddingRule {
            case .lazyAdam, .adagrad:
                for row in table.touchedRows {
                    let base = Int(row) * table.dimension
                    for j in base..<base + table.dimension {
                        let g = gradient[j] + l2 * value[j]
                        if embeddingRule == .adagrad {
                            v[j] += g * g
                            value[j] -= tableRate * g / (v[j].squareRoot() + 1e-7)
                        } else {
                            apply(value + j, m + j, v + j, g, rate: tableRate)
                        }
                    }
                }
            case .adam:
                // Untouched rows have a zero gradient (zeroGradient clears the touched ones); L2 acts on touched rows.
                let touched = Set(table.touchedRows)
                for row in 0..<table.rows {
                    let decay = touched.contains(Int32(row)) ? l2 : 0
                    for j in row * table.dimension..<(row + 1) * table.dimension {
                        apply(value + j, m + j, v + j, gradient[j] + decay * value[j], rate: tableRate)
                    }
                }
            }
        }
    }

    private enum CodingKeys: String, CodingKey {
        case beta1, beta2, epsilon, step
        case learningRate = "learning_rate"
        case schedule = "learning_rate_schedule"
        case finalLearningRateFraction = "final_learning_rate_fraction"
        case embeddingL2 = "embedding_l2"
        case embeddingRule = "embedding_optimizer"
        case embeddingLearningRate = "embedding_learning_rate"
        case plannedSteps = "planned_steps"
    }

    /// Restores the step count (resumed training).
    mutating func restore(step: Int) { self.step = step }
}
