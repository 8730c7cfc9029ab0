import Foundation
import Testing

@testable import Training

/// AUC, GAUC, logloss and PCOC on hand-computed cases.
struct MetricsTests {
    @Test func aucCountsPairsAndHalvesTies() {
        // Pairs (pos, neg): (0.8, 0.1) ✓, (0.8, 0.4) ✓, (0.35, 0.1) ✓, (0.35, 0.4) ✗ → 3/4.
        #expect(RankingMetrics.auc(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1]) == 0.75)
        // A tie between a positive and a negative counts ½: pairs ✓, ½ → 0.75.
        #expect(RankingMetrics.auc(scores: [0.2, 0.5, 0.5], labels: [0, 0, 1]) == 0.75)
        #expect(RankingMetrics.auc(scores: [0.3, 0.3, 0.3, 0.3], labels: [0, 1, 0, 1]) == 0.5)
        #expect(RankingMetrics.auc(scores: [0.9, 0.1], labels: [0, 1]) == 0)
        #expect(RankingMetrics.auc(scores: [0.9, 0.1], labels: [1, 1]) == nil)
    }

    @Test func groupAUCWeightsGroupsByImpressions() {
        // Group 1 (3 rows): AUC 1; group 2 (2 rows): AUC 0; group 3 (one class only): skipped.
        let gauc = RankingMetrics.groupAUC(
            scores: [0.9, 0.1, 0.2, 0.3, 0.6, 0.5], labels: [1, 0, 0, 1, 0, 1], groups: [1, 1, 1, 2, 2, 3])
        #expect(gauc == 3.0 / 5.0)
    }

    @Test func logLossAndPCOC() {
        let loss = RankingMetrics.logLoss(probabilities: [0.5, 0.25], labels: [1, 0])!
        #expect(abs(loss - (log(2.0) + log(4.0 / 3.0)) / 2) < 1e-7)
        #expect(RankingMetrics.pcoc(probabilities: [0.5, 0.25, 0.25], labels: [1, 0, 0]) == 1)
        #expect(RankingMetrics.pcoc(probabilities: [0.5], labels: [0]) == nil)
    }

    @Test func tableFormatting() {
        #expect(String.fixed(0.12345, digits: 4) == "0.1235")
        #expect(String.fixed(-1.5, digits: 1) == "-1.5")
        #expect(String.fixed(2, digits: 3) == "2.000")
    }
}
