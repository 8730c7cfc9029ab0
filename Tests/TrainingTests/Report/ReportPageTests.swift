import Foundation
import Ranking
import Testing

@testable import Training

/// The HTML renderer: escaping, every section, no script or external resource, peers from a benchmark result.
struct ReportPageTests {
    @Test func escapesMarkupCharacters() {
        #expect(HTML.escape(#"<a href="x">'&'</a>"#) == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
        #expect(HTML.escape("plain é ✓") == "plain é ✓")
        #expect(HTML.table(header: ["<h>"], rows: [["a&b"]]).contains("<th>&lt;h&gt;</th>"))
    }

    static func evaluation(file: String = "test.csv") -> EvaluationReport {
        let (scores, labels) = CurveTests.sample(count: 2_000, seed: 4)
        let metrics = TaskMetrics(probabilities: scores, labels: labels)
        let curves = TaskCurves(probabilities: scores, labels: labels)
        var report = EvaluationReport(
            file: file, rows: scores.count, groupedBy: "user", ctr: metrics, cvr: metrics, ctcvr: metrics)
        report.curves = EvaluationCurves(ctr: curves, cvr: curves, ctcvr: curves)
        return report
    }

    @Test func everySectionAndNothingFetched() {
        var history = TrainingHistory()
        for step in 1...10 {
            history.record(
                TrainingHistory.Point(
                    step: step * 50, rows: step * 5_000, loss: 1 / Double(step), runningCTRAUC: 0.6,
                    runningCTCVRAUC: 0.7))
        }
        var evaluation = Self.evaluation(file: "<test>.csv")
        evaluation.delayFit = DelayFit(
            buckets: [
                DelayFit.Bucket(upperHours: 24, conversions: 3, observedCDF: 0.6, predictedCDF: 0.5),
                DelayFit.Bucket(upperHours: 168, conversions: 2, observedCDF: 1, predictedCDF: 1),
            ], conversions: 5)
        var metadata = ReportMetadata(title: "esdc <script>alert(1)</script>")
        metadata.model = [("model", "a \"quoted\" & <b>bold</b> name")]
        metadata.configuration = #"{"key": "</pre><script>"}"#
        let html = ReportPage(evaluation: evaluation, metadata: metadata, history: history).html
        for (id, _) in ReportPage.sections { #expect(html.contains("<section id=\"\(id)\">"), "no section \(id)") }
        #expect(!html.lowercased().contains("<script"))
        #expect(html.contains("esdc &lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("a &quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt; name"))
        #expect(html.contains("&lt;test&gt;.csv"))
        // Self-contained: no URL but the SVG namespace and in-page anchors.
        #expect(!html.contains("src=") && !html.contains("<link") && !html.contains("@import"))
        #expect(html.components(separatedBy: "http").count - 1 == html.components(separatedBy: "<svg").count - 1)
        // Reliability and counts for 3 tasks, deciles for 3, one ROC, loss and AUC, the delay CDF.
        #expect(html.components(separatedBy: "<svg").count - 1 == 3 * 2 + 3 + 1 + 2 + 1)
        #expect(html.contains("1d") && html.contains("7d"))
    }

    @Test func notesWhereTheSourceHasNoData() {
        let html = ReportPage(
            evaluation: Self.evaluation(), metadata: ReportMetadata(title: "checkpoint"), history: nil,
            delayNote: "A serving checkpoint has no delay tower.", comparison: nil
        ).html
        #expect(html.contains("keeps no training history"))
        #expect(html.contains("A serving checkpoint has no delay tower."))
        #expect(html.contains("No benchmark result given"))
        #expect(html.components(separatedBy: "<svg").count - 1 == 3 * 2 + 3 + 1)
    }

    @Test func peersFromABenchmarkResult() throws {
        let path = TestSupport.repositoryRoot.appendingPathComponent("Tests/Report/bench_results.json").path
        let comparison = try BenchmarkComparison.load(path: path)
        let world = try #require(comparison.worlds.first)
        #expect(world.name == "default" && world.simulateFlags == ["--train-rows", "20000", "--test-rows", "10000"])
        #expect(world.rows.first!.label == "Funnel default (exported)")
        let lightGBM = try #require(world.rows.first { $0.label == "LightGBM" })
        #expect(lightGBM.seeds == 2 && abs(lightGBM.figures["ctr_auc"]! - 0.63) < 1e-12)
        #expect(lightGBM.figures["es_cvr_auc"] == nil)  // null in every seed
        let page = ReportPage(
            evaluation: Self.evaluation(), metadata: ReportMetadata(title: "m"), history: nil, comparison: comparison)
        #expect(page.html.contains("<td>LightGBM</td>") && page.html.contains("this report: m"))
        #expect(throws: DataError.self) { _ = try BenchmarkComparison.parse(Data("{}".utf8), source: "x.json") }
    }
}
