import HTTP2
import Ranking

/// The JSON bodies of the Open Inference Protocol (KServe V2) REST routes: server and model metadata, infer
/// responses and errors (`{"error": "…"}`). docs/OPERATIONS.md shows them in use.
enum InferenceProtocol {
    static let serverName = "funnel-serve"
    static let platform = "funnel"

    /// `GET /v2`.
    static func serverMetadata(version: String) -> HTTPResponse {
        var writer = JSONWriter()
        writer.raw("{\"name\":")
        writer.string(serverName)
        writer.raw(",\"version\":")
        writer.string(version)
        writer.raw(",\"extensions\":[]}")
        return JSONResponse.make(status: 200, body: writer.bytes)
    }

    /// A tensor as model metadata lists it; -1 marks a dimension of any size.
    struct TensorMetadata: Equatable {
        let name: String
        let datatype: String
        let shape: [Int]
    }

    /// One input per serving feature, named as the feature: `[1]` for user and context features, `[-1]` (one row
    /// per candidate) for item ones, and a second dimension for multi-categorical ones.
    static func inputs(of model: ServableModel) -> [TensorMetadata] {
        model.encoder.spec.fields.filter { model.encoder.servingField(named: $0.name) != nil }.map { field in
            var shape = [field.group == .item ? -1 : 1]
            if case .multiCategorical = field.kind { shape.append(-1) }
            if case .numeric = field.kind { return TensorMetadata(name: field.name, datatype: "FP64", shape: shape) }
            return TensorMetadata(name: field.name, datatype: "BYTES", shape: shape)
        }
    }

    static let outputs = InferOutput.allCases.map { output in
        TensorMetadata(name: output.rawValue, datatype: output.datatype, shape: [-1])
    }

    /// `GET /v2/models/{name}[/versions/{version}]`.
    static func modelMetadata(_ model: ServableModel) -> HTTPResponse {
        var writer = JSONWriter()
        writer.raw("{\"name\":")
        writer.string(model.name)
        writer.raw(",\"versions\":[")
        writer.string(String(model.version))
        writer.raw("],\"platform\":")
        writer.string(platform)
        for (key, tensors) in [(",\"inputs\":[", inputs(of: model)), ("],\"outputs\":[", outputs)] {
            writer.write(key)
            for (position, tensor) in tensors.enumerated() {
                if position > 0 { writer.raw(",") }
                writer.raw("{\"name\":")
                writer.string(tensor.name)
                writer.raw(",\"datatype\":")
                writer.string(tensor.datatype)
                writer.raw(",\"shape\":[")
                writer.write(tensor.shape.map(String.init).joined(separator: ","))
                writer.raw("]}")
            }
        }
        writer.raw("]}")
        return JSONResponse.make(status: 200, body: writer.bytes)
    }

    /// The answer to an infer request: each output asked for, one value per result (best first under `top_k`).
    static func inferResponse(_ response: ScoreResponse, request: InferRequest) -> HTTPResponse {
        let outputs = request.selectedOutputs
        let results = response.results
        var writer = JSONWriter(capacity: 128 + results.count * outputs.count * 14)
        writer.raw("{\"model_name\":")
        writer.string(response.model.name)
        writer.raw(",\"model_version\":")
        writer.string(String(response.model.version))
        if let id = request.id {
            writer.raw(",\"id\":")
            writer.string(id)
        }
        writer.raw(",\"outputs\":[")
        for (position, output) in outputs.enumerated() {
            if position > 0 { writer.raw(",") }
            writer.raw("{\"name\":")
            writer.string(output.rawValue)
            writer.raw(",\"datatype\":")
            writer.string(output.datatype)
            writer.raw(",\"shape\":[")
            writer.number(results.count)
            writer.raw("],\"data\":[")
            for (row, result) in results.enumerated() {
                if row > 0 { writer.raw(",") }
                switch output {
                case .pctr: writer.number(result.prediction.ctr)
                case .pcvr: writer.number(result.prediction.cvr)
                case .pctcvr: writer.number(result.prediction.ctcvr)
                case .score: writer.number(Float(result.score))
                case .candidateIndex: writer.number(Int(result.id) ?? -1)  // the decoder names rows by position
                }
            }
            writer.raw("]}")
        }
        writer.raw("]}")
        return JSONResponse.make(status: 200, body: writer.bytes)
    }

    /// Health answers, `{"live": true}` or `{"ready": …}` as KServe's clients read them: 200 for true, 503 with
    /// the reason for false (the protocol asks for a 4xx; KServe's own server, and `/readyz`, answer 503, which
    /// every client and probe reads as false).
    static func health(_ key: StaticString, _ isTrue: Bool, reason: @autoclosure () -> String) -> HTTPResponse {
        var writer = JSONWriter()
        writer.raw("{\"")
        writer.raw(key)
        writer.raw(isTrue ? "\":true" : "\":false,\"error\":")
        if !isTrue { writer.string(reason()) }
        writer.raw("}")
        var response = JSONResponse.make(status: isTrue ? 200 : 503, body: writer.bytes)
        if !isTrue { response.headers.append(("retry-after", "1")) }
        return response
    }

    /// An error as the protocol renders it: `{"error": "<message>"}`, with the same status as on `/v1`.
    static func error(_ error: ScoringError) -> HTTPResponse {
        var writer = JSONWriter()
        writer.raw("{\"error\":")
        writer.string(error.message)
        writer.raw("}")
        var response = JSONResponse.make(status: error.status, body: writer.bytes)
        if let seconds = error.retryAfterSeconds { response.headers.append(("retry-after", "\(seconds)")) }
        return response
    }
}
