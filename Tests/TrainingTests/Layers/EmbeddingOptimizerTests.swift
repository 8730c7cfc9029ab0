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

    /// Under every rule the rows a gradient reached are what `fillUntrainedRows` keeps, and the others become
    /// their mean: here 5 random rows, gradients on rows 1 and 3.
    @Test(arguments: AdamOptimizer.EmbeddingRule.allCases)
    func untrainedRowsTakeTheMeanOfTheTrainedOnes(rule: AdamOptimizer.EmbeddingRule) {
        var random = SplitMix64(seed: 7)
        let table = EmbeddingTable(name: "t", rows: 5, dimension: 2, random: &random)
        var optimizer = with(AdamOptimizer()) { $0.embeddingRule = rule }
        table.accumulate(row: 1, weight: 1, [0.5, -0.25])
        table.accumulate(row: 3, weight: 1, [-0.1, 0.3])
        optimizer.update(dense: [], tables: [table])
        table.zeroGradient()
        optimizer.update(dense: [], tables: [table])
        let trained = table.values
        #expect(table.fillUntrainedRows() == 3)
        let filled = table.values
        let mean = [(trained[2] + trained[6]) / 2, (trained[3] + trained[7]) / 2]
        #expect(Array(filled[2..<4]) == Array(trained[2..<4]) && Array(filled[6..<8]) == Array(trained[6..<8]))
        for row in [0, 2, 4] {
            #expect(abs(filled[2 * row] - mean[0]) < 1e-6 && abs(filled[2 * row + 1] - mean[1]) < 1e-6)
        }
        #expect(filled[0] != trained[0], "row 0 kept its initial value: nothing filled")
        // Once filled, a second pass finds the same rows and changes nothing.
        #expect(table.fillUntrainedRows() == 3 && table.values == filled)
    }

    @Test func adagradStepsByTheGradientsOwnScale() {
        let values = twoSteps(.adagrad)
        // First step lr · g / |g| = ±0.2; the second has no gradient.
        #expect(abs(values[2] - 0.8) < 1e-4 && abs(values[3] - 1.2) < 1e-4)
        #expect(values[0] == 1 && values[5] == 1)
    }
}
