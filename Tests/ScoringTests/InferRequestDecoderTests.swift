import Foundation
import HTTP2
import Ranking
import Testing

@testable import Scoring

/// The Open Inference Protocol's JSON tensors decode into the same rows as `/v1/score`'s body with the same
/// values, and every malformed tensor gets a 400 that says what is wrong.
struct InferRequestDecoderTests {
    let model: ServableModel
    let decoder = InferRequestDecoder(maxCandidates: 50, ignoreUnknownFeatures: false)

    init() throws { model = try TestModel.servable() }

    /// `TestModel.body(candidates: 3)` as tensors.
    static let threeCandidates = """
        {"id": "r1", "inputs": [
          {"name": "user_id", "shape": [1], "datatype": "BYTES", "data": ["u1"]},
          {"name": "user_recent_categories", "shape": [1, 3], "datatype": "BYTES", "data": [["c1", "c2", ""]]},
          {"name": "user_age", "shape": [1], "datatype": "INT64", "data": [31]},
          {"name": "device", "shape": [1], "datatype": "BYTES", "data": ["ios"]},
          {"name": "item_id", "shape": [3], "datatype": "INT64", "data": [1000, 1001, 1002]},
          {"name": "item_category", "shape": [3], "datatype": "BYTES", "data": ["c0", "c1", "c2"]},
          {"name": "price", "shape": [3], "datatype": "FP64", "data": [10, 11.0, 12]}
        ]
        """

    func decode(_ text: String) throws(ScoringError) -> InferRequest {
        try decoder.decode(Array(text.utf8), model: model)
    }

    func error(_ text: String) -> ScoringError? {
        do {
            _ = try decode(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func tensorsGiveTheRowsOfTheSameV1Request() throws {
        let infer = try decode(Self.threeCandidates + #", "parameters": {"top_k": 2, "timeout": 50000}}"#)
        let v1 = try ScoreRequestDecoder(maxCandidates: 50, ignoreUnknownFeatures: false).decode(
            TestModel.body(candidates: 3), model: model)
        #expect(infer.score.sharedIndices == v1.sharedIndices && infer.score.sharedWeights == v1.sharedWeights)
        #expect(infer.score.itemIndices == v1.itemIndices && infer.score.itemWeights == v1.itemWeights)
        #expect(infer.score.prices == v1.prices)
        #expect(infer.score.candidateIDs == ["0", "1", "2"])
        #expect(infer.id == "r1" && infer.outputs == nil)
        #expect(infer.score.topK == 2 && infer.score.deadlineMilliseconds == 50)  // Triton's timeout is in µs
    }

    @Test func nestedAndFlatDataAreTheSame() throws {
        let nested = try decode(Self.threeCandidates + "}")
        let flat = try decode(
            Self.threeCandidates.replacingOccurrences(of: #"[["c1", "c2", ""]]"#, with: #"["c1", "c2", ""]"#) + "}")
        #expect(nested.score.sharedIndices == flat.score.sharedIndices)
    }

    @Test func requestedOutputsAreKeptInOrder() throws {
        let request = try decode(
            Self.threeCandidates
                + #", "outputs": [{"name": "score", "parameters": {"binary_data": false}}, {"name": "pctr"}]}"#)
        #expect(request.outputs == [.score, .pctr])
    }

    @Test func theResponseCarriesTheRequestedTensors() throws {
        let request = try decode(Self.threeCandidates + #", "parameters": {"top_k": 2}}"#)
        let results = [0.2, 0.9, 0.5].enumerated().map { index, score in
            ScoreResponse.Result(id: String(index), prediction: Prediction(ctr: 0.5, cvr: 0.25), score: score)
        }
        let response = ScoreResponse(model: model, results: results, topK: request.score.topK)
        let body = InferenceProtocol.inferResponse(response, request: request).body
        let json = try #require(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(json["id"] as? String == "r1" && json["model_name"] as? String == model.name)
        let outputs = try #require(json["outputs"] as? [[String: Any]])
        #expect(outputs.map { $0["name"] as? String } == ["pctr", "pcvr", "pctcvr", "score", "candidate_index"])
        #expect(outputs[3]["data"] as? [Double] == [0.9, 0.5])  // best first
        #expect(outputs[4]["data"] as? [Int] == [1, 2] && outputs[4]["datatype"] as? String == "INT64")
        #expect(outputs[2]["data"] as? [Double] == [0.125, 0.125] && outputs[0]["shape"] as? [Int] == [2])
    }

    static let badRequests: [(String, String)] = [
        (#"[]"#, "must be a JSON object"),
        (#"{"inputs": {}}"#, "\"inputs\" must be an array"),
        (#"{"inputs": [], "extra": 1}"#, "unknown field \"extra\""),
        (#"{"inputs": []}"#, "no item feature"),
        (#"{"inputs": [{"name": "price", "shape": [0], "datatype": "FP64", "data": []}]}"#, "no candidate"),
        (
            #"{"inputs": [{"name": "price", "shape": [2], "datatype": "FP64", "data": [1]}]}"#,
            "holds 2 values, data has 1"
        ),
        (#"{"inputs": [{"name": "price", "shape": [1, 1], "datatype": "FP64", "data": [1]}]}"#, "must have shape [n]"),
        (
            #"{"inputs": [{"name": "user_id", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]}]}"#,
            "must have shape [1]"
        ),
        (#"{"inputs": [{"name": "price", "shape": [1], "datatype": "BYTES", "data": ["1"]}]}"#, "takes FP64"),
        (#"{"inputs": [{"name": "item_id", "shape": [1], "datatype": "FP32", "data": [1.5]}]}"#, "takes BYTES"),
        (
            #"{"inputs": [{"name": "item_id", "shape": [1], "datatype": "BYTES", "data": [7]}]}"#,
            "a number is not a BYTES value"
        ),
        (#"{"inputs": [{"name": "price", "shape": [1], "datatype": "FP64", "data": [null]}]}"#, "null is not"),
        (#"{"inputs": [{"name": "colour", "shape": [1], "datatype": "BYTES", "data": ["red"]}]}"#, "colour"),
        (
            #"{"inputs": [{"name": "price", "shape": [1], "datatype": "FP64", "data": [1], "parameters": {"binary_data_size": 8}}]}"#,
            "binary tensor data is not supported"
        ),
        (
            #"{"inputs": [{"name": "price", "shape": [1], "datatype": "FP64", "data": [1]}, {"name": "price", "shape": [1], "datatype": "FP64", "data": [2]}]}"#,
            "given twice"
        ),
        (
            #"{"inputs": [{"name": "price", "shape": [1], "datatype": "FP64", "data": [1]}, {"name": "item_id", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]}]}"#,
            "has 2 rows; the other item inputs have 1"
        ),
        (
            #"{"inputs": [{"name": "price", "shape": [1], "datatype": "FP64", "data": [1]}], "parameters": {"sequence_id": 3}}"#,
            "unknown field \"sequence_id\""
        ),
        (
            #"{"inputs": [{"name": "price", "shape": [1], "datatype": "FP64", "data": [1]}], "parameters": {"top_k": 0}}"#,
            "top_k"
        ),
        (
            #"{"inputs": [{"name": "price", "shape": [1], "datatype": "FP64", "data": [1]}], "outputs": [{"name": "ctr"}]}"#,
            "unknown output"
        ),
        (
            #"{"inputs": [{"name": "price", "shape": [1], "datatype": "FP64", "data": [1]}], "model_name": "other"}"#,
            "the path names"
        ),
        (#"{"inputs": [{"name": "price", "shape": [60], "datatype": "FP64", "data": [1]}]}"#, "holds 60 values"),
        // Parameters that are not objects (found by schemathesis' coverage phase: they were ignored).
        (
            #"{"inputs": [{"name": "price", "shape": [1], "datatype": "FP64", "data": [1]}], "outputs": [{"name": "pctr", "parameters": [null]}]}"#,
            "\"parameters\" must be an object"
        ),
        (
            #"{"inputs": [{"name": "price", "shape": [1], "datatype": "FP64", "data": [1], "parameters": 3}]}"#,
            "\"parameters\" must be an object"
        ),
        // A shape is never used to size anything before the data backs it (found by api_fuzz: a 141 GB allocation).
        (
            #"{"inputs": [{"name": "price", "shape": [16777216, 16777216, 16777216, 16777216], "datatype": "FP64", "data": []}]}"#,
            "holds too many values"
        ),
        (
            #"{"inputs": [{"name": "price", "shape": [16777216, 8192], "datatype": "FP64", "data": [1]}]}"#,
            "holds 137438953472 values"
        ),
    ]

    @Test(arguments: badRequests)
    func badRequestsSayWhatIsWrong(_ body: String, _ expected: String) {
        let error = self.error(body)
        #expect(error?.status == 400)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "accepted")")
    }

    @Test func tooManyCandidatesIs413() {
        let prices = Array(repeating: "1", count: 51).joined(separator: ",")
        let error = self.error(
            #"{"inputs": [{"name": "price", "shape": [51], "datatype": "FP64", "data": [\#(prices)]}]}"#)
        #expect(error?.status == 413)
    }

    @Test func invalidJSONIsInvalidJSON() {
        #expect(error(#"{"inputs": [}"#)?.code == "invalid_json")
    }
}
