import Dispatch
import Foundation
import HTTP2
import Prometheus
import Synchronization
import Testing

@testable import Scoring

/// The shared state behind every answer, raced on real threads (also run under ThreadSanitizer, scripts/tsan.sh):
/// each request is answered once however many threads try, the in-flight gauge returns to zero, a dropped request
/// is counted as 499, per-model metrics are made once, and access log lines never interleave.
struct AnsweringTests {
    static let request = HTTPRequest(method: "POST", path: "/v1/score", query: nil, headers: [], version: .http2)

    @Test func racingAnswersAreDeliveredOnceAndTheGaugeReturnsToZero() throws {
        let metrics = TestModel.metrics()
        let delivered = Atomic<Int>(0)
        let requests = 2000
        DispatchQueue.concurrentPerform(iterations: requests) { index in
            let answer = Answering(
                request: Self.request, route: .score, metrics: metrics, accessLog: nil,
                respond: { _ in delivered.add(1, ordering: .relaxed) })
            if index % 4 == 0 { return }  // dropped: accounted when `answer` goes
            DispatchQueue.concurrentPerform(iterations: 2) { _ in answer(HTTPResponse(status: 200)) }
        }
        #expect(delivered.load(ordering: .relaxed) == requests - requests / 4)
        metrics.publishRequestCounts(staticAnswers: [])
        let exposition = metrics.registry.emitToString()
        #expect(exposition.contains("funnel_requests_in_flight 0"))
        #expect(exposition.contains(#"funnel_requests_total{route="/v1/score",code="499"} 500"#))
        #expect(exposition.contains(#"funnel_requests_total{route="/v1/score",code="200"} 1500"#))
    }

    @Test func modelMetricsAreMadeOncePerVersion() {
        let metrics = TestModel.metrics()
        let made = Locked<[ObjectIdentifier]>([])
        DispatchQueue.concurrentPerform(iterations: 400) { index in
            let model = metrics.model(name: "m", version: index % 2)
            made.withLock { $0.append(ObjectIdentifier(model)) }
        }
        #expect(Set(made.withLock { $0 }).count == 2)
    }

    @Test func accessLogLinesFromManyThreadsStayWhole() throws {
        let path = NSTemporaryDirectory() + "funnel-access-\(UUID()).log"
        defer { unlink(path) }
        let log = try AccessLog(destination: path)
        let metrics = TestModel.metrics()
        DispatchQueue.concurrentPerform(iterations: 1000) { index in
            let request = HTTPRequest(
                method: "GET", path: "/v2/models/m/\(String(repeating: "p", count: index % 700))", query: nil,
                headers: [("x-request-id", "r\(index)")], version: .http1)
            Answering(request: request, route: .other, metrics: metrics, accessLog: log, respond: { _ in })(
                HTTPResponse(status: 404))
        }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1000)
        let ids = try lines.map { line in
            let entry = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return try #require(entry["request_id"] as? String)
        }
        #expect(Set(ids).count == 1000)
    }
}
