import Foundation
import HTTP2
import InferenceMessages
import Ranking
import SwiftProtobuf
import Testing

@testable import Scoring

/// gRPC framing, deadlines and status codes, and the ModelInfer message decoding into the same rows as the JSON
/// tensors (raw little-endian contents and typed contents alike).
struct GRPCTests {
    @Test func aFramedMessageRoundTripsWithAnOKTrailer() throws {
        let message = Inference_ModelReadyRequest.with {
            $0.name = "funnel-student"
            $0.version = "2"
        }
        let response = GRPC.response(message)
        #expect(response.status == 200 && response.headers.contains { $0 == ("content-type", "application/grpc") })
        #expect(response.trailers.map(\.value) == ["0"])
        #expect(Array(response.body[0..<5]) == [0, 0, 0, 0, UInt8(response.body.count - 5)])
        #expect(try GRPC.decode(Inference_ModelReadyRequest.self, from: response.body) == message)
    }

    @Test(arguments: [
        ([UInt8](), "no length-prefixed message"),
        ([0, 0, 0, 0, 3, 1, 2], "exactly one message"),
        ([0, 0, 0, 0, 1, 8, 8], "exactly one message"),
        ([1, 0, 0, 0, 0], "compressed"),
    ])
    func malformedFramesAreRefused(_ body: [UInt8], _ expected: String) {
        do {
            _ = try GRPC.message(in: body)
            Issue.record("accepted \(body)")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func timeoutsAreReadInEveryUnit() {
        #expect(GRPC.timeoutMilliseconds("100m") == 100)
        #expect(GRPC.timeoutMilliseconds("5S") == 5000)
        #expect(GRPC.timeoutMilliseconds("2M") == 120_000)
        #expect(GRPC.timeoutMilliseconds("1H") == 3_600_000)
        #expect(GRPC.timeoutMilliseconds("1500u") == 2)  // rounded up
        #expect(GRPC.timeoutMilliseconds("1n") == 1)
        for malformed in [nil, "", "m", "10", "10x", "-5m", "123456789m"] {
            #expect(GRPC.timeoutMilliseconds(malformed) == nil, "\(malformed ?? "nil")")
        }
    }

    @Test func errorsMapToTheirGRPCStatus() {
        #expect(GRPC.status(for: .invalidRequest("x")) == .invalidArgument)
        #expect(GRPC.status(for: .tooManyCandidates(5, limit: 1)) == .resourceExhausted)
        #expect(GRPC.status(for: .queueFull) == .resourceExhausted)
        #expect(GRPC.status(for: .draining) == .unavailable)
        #expect(GRPC.status(for: .notReady) == .unavailable)
        #expect(GRPC.status(for: .deadlineExceeded) == .deadlineExceeded)
        #expect(GRPC.status(for: .methodNotAllowed("POST")) == .unimplemented)
        #expect(GRPC.status(for: ScoringError(status: 404, code: "model_not_found", message: "")) == .notFound)
        let failure = GRPC.failure(.invalidRequest("bad %\u{e9}\n"))
        #expect(failure.body.isEmpty && failure.trailers.isEmpty)  // trailers-only: the status rides the headers
        #expect(failure.headers.contains { $0 == ("grpc-status", "3") })
        #expect(failure.headers.contains { $0 == ("grpc-message", "bad %25%C3%A9%0A") })
    }

    /// `InferRequestDecoderTests.threeCandidates` as tritonclient sends it over gRPC.
    static func threeCandidates(raw: Bool) -> Inference_ModelInferRequest {
        func bytes(_ values: [String]) -> Data {
            var data = Data()
            for value in values {
                withUnsafeBytes(of: UInt32(value.utf8.count).littleEndian) { data.append(contentsOf: $0) }
                data.append(contentsOf: Array(value.utf8))
            }
            return data
        }
        func little<T: FixedWidthInteger>(_ values: [T]) -> Data {
            var data = Data()
            for value in values { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
            return data
        }
        let tensors: [(String, String, [Int64], Data, (inout Inference_InferTensorContents) -> Void)] = [
            ("user_id", "BYTES", [1], bytes(["u1"]), { $0.bytesContents = [Data("u1".utf8)] }),
            (
                "user_recent_categories", "BYTES", [1, 3], bytes(["c1", "c2", ""]),
                { $0.bytesContents = ["c1", "c2", ""].map { Data($0.utf8) } }
            ),
            ("user_age", "INT64", [1], little([Int64(31)]), { $0.int64Contents = [31] }),
            ("device", "BYTES", [1], bytes(["ios"]), { $0.bytesContents = [Data("ios".utf8)] }),
            ("item_id", "INT32", [3], little([Int32(1000), 1001, 1002]), { $0.intContents = [1000, 1001, 1002] }),
            (
                "item_category", "BYTES", [3], bytes(["c0", "c1", "c2"]),
                { $0.bytesContents = ["c0", "c1", "c2"].map { Data($0.utf8) } }
            ),
            ("price", "FP64", [3], little([10.0, 11.0, 12.0].map(\.bitPattern)), { $0.fp64Contents = [10, 11, 12] }),
        ]
        return .with { request in
            request.modelName = "funnel-student"
            request.id = "g"
            request.parameters["top_k"] = .with { $0.int64Param = 2 }
            for (name, datatype, shape, data, fill) in tensors {
                request.inputs.append(
                    .with {
                        $0.name = name
                        $0.datatype = datatype
                        $0.shape = shape
                        if !raw { fill(&$0.contents) }
                    })
                if raw { request.rawInputContents.append(data) }
            }
        }
    }

    @Test(arguments: [true, false])
    func aModelInferMessageGivesTheRowsOfTheSameJSONTensors(raw: Bool) throws {
        let model = try TestModel.servable()
        let decoder = InferRequestDecoder(maxCandidates: 50, ignoreUnknownFeatures: false)
        let json = try decoder.decode(Array((InferRequestDecoderTests.threeCandidates + "}").utf8), model: model)
        let grpc = try decoder.decode(Self.threeCandidates(raw: raw), model: model, deadlineMilliseconds: 40)
        #expect(grpc.score.sharedIndices == json.score.sharedIndices)
        #expect(grpc.score.sharedWeights == json.score.sharedWeights)
        #expect(grpc.score.itemIndices == json.score.itemIndices && grpc.score.itemWeights == json.score.itemWeights)
        #expect(grpc.id == "g" && grpc.score.topK == 2 && grpc.score.deadlineMilliseconds == 40)
    }

    @Test func malformedRawTensorsAreRefused() throws {
        let model = try TestModel.servable()
        let decoder = InferRequestDecoder(maxCandidates: 50, ignoreUnknownFeatures: false)
        var short = Self.threeCandidates(raw: true)
        short.rawInputContents[6] = short.rawInputContents[6].prefix(20)  // 2.5 doubles for 3
        var overrun = Self.threeCandidates(raw: true)
        overrun.rawInputContents[0] = Data([9, 0, 0, 0, 65])  // a 9-byte string with 1 byte
        var missing = Self.threeCandidates(raw: true)
        missing.rawInputContents.removeLast()
        for (message, expected) in [
            (short, "needs 24 bytes"), (overrun, "runs past the end"), (missing, "6 entries for 7 inputs"),
        ] {
            do {
                _ = try decoder.decode(message, model: model, deadlineMilliseconds: nil)
                Issue.record("accepted: \(expected)")
            } catch {
                #expect(error.status == 400 && error.message.contains(expected), "\(error.message)")
            }
        }
    }
}
