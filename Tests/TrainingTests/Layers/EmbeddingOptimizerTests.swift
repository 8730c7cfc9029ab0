import Ranking
import Testing

@testable import Training

/// The three embedding update rules on one table after one step with a gradient on row 1 only.
struct EmbeddingOptimizerTests {
    /// A 3 × 2 table, row 1 touched with gradient (0.5, −0.25), every row starting at 1. Returns the values after
    /// two steps (the second without any gradient).
    func twoSteps(_ rule: AdamOptimizer.EmbeddingRule) -> [Float] {
        var random = SplitMix64(seed: 1)
        let table = EmbeddingTable(name: "t", rows: 3, dimension: 2, random: &random)
        table.load([Float](repeating: 1, count: 6))
        var optimizer = with(AdamOptimizer()) {
            $0.learningRate = 0.1
            $0.schedule = .constant
            $0.embeddingL2 = 0
            $0.embeddingRule = rule
            $0.embeddingLearningRate = 0.2
        }
        table.accumulate(row: 1, weight: 1, [0.5, -0.25])
        optimizer.update(dense: [], tables: [table])
        table.zeroGradient()
        optimizer.update(dense: [], tables: [table])
        return table.values
    }

    @Test func lazyAdamMovesOnlyTouchedRowsAndOnlyWhenTouched() {
        let values = twoSteps(.lazyAdam)
        // Adam's first step is lr · sign(g) (m̂ = g, √v̂ = |g|), at the embedding rate 0.2; no second step.
        #expect(abs(values[2] - 0.8) < 1e-5 && abs(values[3] - 1.2) < 1e-5)
        #expect(values[0] == 1 && values[1] == 1 && values[4] == 1 && values[5] == 1)
    }

    @Test func denseAdamKeepsMovingEveryRowAlongItsMoments() {
        let values = twoSteps(.adam)
        #expect(values[2] < 0.8 - 0.1 && values[3] > 1.2 + 0.1)  // the second step follows the first moment
        #expect(values[0] == 1 && values[4] == 1)  // rows never touched have zero moments: they stay
    }

    @Test func adagradStepsByTheGradientsOwnScale() {
        let values = twoSteps(.adagrad)
        // First step lr · g / |g| = ±0.2; the second has no gradient.
        #expect(abs(values[2] - 0.8) < 1e-4 && abs(values[3] - 1.2) < 1e-4)
        #expect(values[0] == 1 && values[5] == 1)
    }
}
