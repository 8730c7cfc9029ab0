import Ranking

/// A decoded Open Inference Protocol infer request: the rows to score, the client's request id, and the outputs
/// it asked for.
struct InferRequest: Sendable {
    let score: ScoreRequest
    let id: String?
    /// The outputs asked for, in the order asked; nil: the default set (`InferOutput.defaults`).
    let outputs: [InferOutput]?

    /// What the answer carries: the outputs asked for, or the defaults (with `candidate_index` under `top_k`).
    var selectedOutputs: [InferOutput] {
        outputs ?? (score.topK == nil ? InferOutput.defaults : InferOutput.allCases)
    }
}

/// The tensors an infer response can carry, each one value per candidate.
enum InferOutput: String, CaseIterable, Sendable {
    case pctr
    case pcvr
    case pctcvr
    case score
    /// The candidate's row in the request: with `top_k` the rows come best first, and this says which they are.
    case candidateIndex = "candidate_index"

    /// What a request that names no outputs gets (`candidate_index` too when it sets `top_k`).
    static let defaults: [InferOutput] = [.pctr, .pcvr, .pctcvr, .score]

    var datatype: String { self == .candidateIndex ? "INT64" : "FP32" }
}

/// Decodes `POST /v2/models/{name}/infer` bodies (KServe V2 / Open Inference Protocol, JSON tensors) into the
/// same rows `/v1/score` makes. One input tensor per serving feature, named as the feature:
/// - user and context features: shape `[1]`, or `[1, k]` for a multi-categorical one;
/// - item features: shape `[n]`, or `[n, k]`, one row per candidate (all item inputs agree on `n`);
/// - a multi-categorical row's padding is the empty string; `data` is row-major, flat or nested.
/// Categorical ids come as `BYTES` (strings) or integers (`INT64`, `INT32`, …); numeric values as `FP32`, `FP64`
/// or integers. An input the client leaves out is a missing value for every row. Pure, so it can be fuzzed.
struct InferRequestDecoder: Sendable {
    let maxCandidates: Int
    let ignoreUnknownFeatures: Bool

    /// `model_name` and `model_version` are not in the protocol's request, but KServe's client sends them.
    private static let requestKeys: Set<String> = [
        "id", "parameters", "inputs", "outputs", "model_name", "model_version",
    ]
    private static let inputKeys: Set<String> = ["name", "shape", "datatype", "data", "parameters"]
    /// Accepted and ignored: answers are always JSON tensors; there is one priority level.
    private static let ignoredParameters: Set<String> = ["binary_data_output", "priority"]
    private static let parameters = ignoredParameters.union(["top_k", "deadline_ms", "timeout"])
    private static let integerTypes: Set<String> = [
        "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8",
    ]

    /// What a request says, whichever encoding carried it (JSON here, protobuf in `InferRequestDecoder+GRPC`).
    struct Parts {
        var id: String?
        /// `model_name` and `model_version` as the body gives them, checked against the path's model.
        var modelName: String?
        var modelVersion: String?
        var parameters: [(key: String, value: JSONValue)] = []
        var tensors: [InferTensor] = []
        /// Names and parameters of the outputs asked for; nil: the default set.
        var outputs: [(name: String, parameters: [(key: String, value: JSONValue)])]?
    }

    /// A JSON body.
    func decode(_ body: [UInt8], model: ServableModel) throws(ScoringError) -> InferRequest {
        let root: JSONValue
        do { root = try JSONParser.parse(body) } catch { throw .invalidJSON(error) }
        guard case .object(let members) = root else {
            throw .invalidRequest("the body must be a JSON object with \"inputs\"")
        }
        let fields = try Self.members(members, allowed: Self.requestKeys, in: "the request")
        var parts = Parts()
        for (key, value) in [
            ("id", fields["id"]), ("model_name", fields["model_name"]),
            ("model_version", fields["model_version"]),
        ] {
            switch value {
            case nil: continue
            case .string(let text)?:
                if key == "id" {
                    parts.id = text
                } else if key == "model_name" {
                    parts.modelName = text
                } else {
                    parts.modelVersion = text
                }
            case let other?: throw .invalidRequest("\"\(key)\" must be a string, not \(other.typeName)")
            }
        }
        switch fields["parameters"] {
        case nil: break
        case .object(let members)?: parts.parameters = members
        default: throw .invalidRequest("\"parameters\" must be an object")
        }
        if let outputs = fields["outputs"] {
            guard case .array(let entries) = outputs else {
                throw .invalidRequest("\"outputs\" must be an array of {\"name\": …}")
            }
            parts.outputs = []
            for entry in entries {
                guard case .object(let members) = entry else {
                    throw .invalidRequest("each requested output must be an object with a \"name\"")
                }
                let output = try Self.members(members, allowed: ["name", "parameters"], in: "a requested output")
                guard case .string(let name)? = output["name"] else {
                    throw .invalidRequest("a requested output has no \"name\"")
                }
                var parameters: [(key: String, value: JSONValue)] = []
                switch output["parameters"] {
                case nil: break
                case .object(let members)?: parameters = members
                case let other?:
                    throw .invalidRequest("output '\(name)': \"parameters\" must be an object, not \(other.typeName)")
                }
                parts.outputs?.append((name, parameters))
            }
        }
        guard case .array(let inputs)? = fields["inputs"] else {
            throw .invalidRequest("\"inputs\" must be an array of tensors, one per feature")
        }
        for (position, input) in inputs.enumerated() {
            guard case .object(let members) = input else {
                throw .invalidRequest("input \(position) must be an object with name, shape, datatype and data")
            }
            parts.tensors.append(try InferTensor(members, position: position))
        }
        return try assemble(parts, model: model)
    }

    /// Checks what the request says against the model and encodes its rows. `deadlineMilliseconds` is the
    /// transport's deadline (gRPC's `grpc-timeout`), if any; the request's own parameters may shorten it.
    func assemble(_ parts: Parts, model: ServableModel, deadlineMilliseconds: Int? = nil) throws(ScoringError)
        -> InferRequest
    {
        for (key, given, expected) in [
            ("model_name", parts.modelName, model.name),
            ("model_version", parts.modelVersion, String(model.version)),
        ] {
            if let given, !given.isEmpty, given != expected {
                throw .invalidRequest("\"\(key)\" is '\(given)', but the path names '\(expected)'")
            }
        }
        let (topK, deadline) = try parameters(parts.parameters, deadline: deadlineMilliseconds)
        let outputs = try requestedOutputs(parts.outputs)
        let encoder = model.encoder
        var shared: [(field: Int, value: FeatureValue)] = []
        var columns: [(field: Int, values: [FeatureValue])] = []
        var candidateCount: Int?
        var seen = Set<Int>()
        for tensor in parts.tensors {
            guard let field = encoder.servingField(named: tensor.name) else {
                if ignoreUnknownFeatures { continue }
                throw .invalidFeature(FeatureEncodingError(field: tensor.name, reason: .unknownField))
            }
            guard seen.insert(field).inserted else { throw .invalidRequest("input '\(tensor.name)' is given twice") }
            let spec = encoder.spec.fields[field]
            let isList = spec.isMultiCategorical
            let rows = try tensor.rows(isList: isList, isItem: spec.group == .item)
            // Before anything is made per row: a list tensor of shape [n, 0] carries n rows in no data.
            guard rows <= maxCandidates else { throw .tooManyCandidates(rows, limit: maxCandidates) }
            let values = try tensor.values(rows: rows, spec: spec)
            if spec.group == .item {
                if let count = candidateCount, count != rows {
                    throw .invalidRequest(
                        "input '\(tensor.name)' has \(rows) rows; the other item inputs have \(count)")
                }
                candidateCount = rows
                columns.append((field, values))
            } else {
                shared.append((field, values[0]))
            }
        }
        guard let candidateCount else {
            throw .invalidRequest(
                "no item feature among the inputs: send at least one, shape [n], to give the number of candidates")
        }
        guard candidateCount > 0 else { throw .invalidRequest("the item inputs hold no candidate (shape [0])") }
        guard candidateCount <= maxCandidates else { throw .tooManyCandidates(candidateCount, limit: maxCandidates) }

        var builder = ScoreRequestBuilder(model: model, candidateCount: candidateCount)
        for (field, value) in shared { builder.values[field] = value }
        try builder.encodeShared()
        for row in 0..<candidateCount {
            for (field, values) in columns { builder.values[field] = values[row] }
            try builder.appendCandidate(id: String(row))
        }
        return InferRequest(
            score: builder.build(topK: topK, deadlineMilliseconds: deadline), id: parts.id, outputs: outputs)
    }

    /// `top_k`, and the shortest deadline of the transport's, `deadline_ms` and Triton's `timeout` (µs).
    private func parameters(_ members: [(key: String, value: JSONValue)], deadline: Int?) throws(ScoringError)
        -> (topK: Int?, deadline: Int?)
    {
        let parameters = try Self.members(members, allowed: Self.parameters, in: "\"parameters\"")
        // Ignored, but still of the type the protocol gives them.
        switch parameters["binary_data_output"] {
        case nil, .bool?: break
        default: throw .invalidRequest("parameter \"binary_data_output\" must be a boolean")
        }
        switch parameters["priority"] {
        case nil: break
        case .int(let level)? where level >= 0: break
        default: throw .invalidRequest("parameter \"priority\" must be a non-negative integer")
        }
        let topK = try parameters["top_k"].map { v throws(ScoringError) in try Self.positiveInteger(v, "top_k") }
        var deadline = deadline
        if let milliseconds = parameters["deadline_ms"] {
            deadline = min(deadline ?? .max, try Self.positiveInteger(milliseconds, "deadline_ms"))
        }
        if let timeout = parameters["timeout"] {
            let micros = try Self.positiveInteger(timeout, "timeout")
            deadline = min(deadline ?? .max, (micros + 999) / 1000)
        }
        return (topK, deadline)
    }

    private func requestedOutputs(_ requested: [(name: String, parameters: [(key: String, value: JSONValue)])]?)
        throws(ScoringError) -> [InferOutput]?
    {
        guard let requested else { return nil }
        var outputs: [InferOutput] = []
        for (name, parameters) in requested {
            guard let output = InferOutput(rawValue: name) else {
                throw .invalidRequest(
                    "unknown output '\(name)'; the outputs are "
                        + InferOutput.allCases.map(\.rawValue).joined(separator: ", "))
            }
            for (key, value) in parameters {
                switch (key, value) {
                case ("binary_data", .bool): break  // answers are JSON tensors, which every client reads
                case ("classification", .int(0)): break
                default: throw .invalidRequest("output '\(name)': parameter '\(key)' is not supported")
                }
            }
            guard !outputs.contains(output) else { throw .invalidRequest("output '\(name)' is asked for twice") }
            outputs.append(output)
        }
        return outputs
    }

    /// The members of an object as a dictionary, rejecting unknown and repeated names.
    fileprivate static func members(
        _ members: [(key: String, value: JSONValue)], allowed: Set<String>, in place: String
    ) throws(ScoringError) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [:]
        for (key, value) in members {
            guard allowed.contains(key) else {
                throw .invalidRequest(
                    "unknown field \"\(key)\" in \(place); expected one of " + allowed.sorted().joined(separator: ", "))
            }
            guard fields.updateValue(value, forKey: key) == nil else {
                throw .invalidRequest("\"\(key)\" appears twice in \(place)")
            }
        }
        return fields
    }

    fileprivate static func positiveInteger(_ value: JSONValue, _ name: String) throws(ScoringError) -> Int {
        guard case .int(let number) = value, number >= 1, number <= 1_000_000_000 else {
            throw .invalidRequest("parameter \"\(name)\" must be an integer in 1...1000000000")
        }
        return Int(number)
    }

    /// One input tensor as sent: its values as JSON values, whichever encoding carried them.
    struct InferTensor {
        let name: String
        let shape: [Int]
        let datatype: String
        /// `data`, flattened row-major.
        let elements: [JSONValue]

        /// A tensor whose values were read already; `elements.count` must be the shape's product.
        init(name: String, shape: [Int], datatype: String, elements: [JSONValue]) throws(ScoringError) {
            self.name = name
            self.shape = shape
            self.datatype = datatype
            self.elements = elements
            try Self.checkCount(shape, elements.count, name)
        }

        private static func checkCount(_ shape: [Int], _ count: Int, _ name: String) throws(ScoringError) {
            var product = 1
            var overflow = false
            for size in shape where !overflow { (product, overflow) = product.multipliedReportingOverflow(by: size) }
            guard !overflow, count == product else {
                throw .invalidRequest(
                    "input '\(name)': shape \(shape) holds \(overflow ? "too many" : String(product)) values, data has "
                        + "\(count)")
            }
        }

        init(_ members: [(key: String, value: JSONValue)], position: Int) throws(ScoringError) {
            let fields = try InferRequestDecoder.members(members, allowed: inputKeys, in: "input \(position)")
            guard case .string(let name)? = fields["name"] else {
                throw .invalidRequest("input \(position) has no \"name\"")
            }
            self.name = name
            guard case .string(let datatype)? = fields["datatype"] else {
                throw .invalidRequest("input '\(name)' has no \"datatype\"")
            }
            self.datatype = datatype
            guard case .array(let dimensions)? = fields["shape"] else {
                throw .invalidRequest("input '\(name)' has no \"shape\" (an array of sizes)")
            }
            var shape: [Int] = []
            for dimension in dimensions {
                guard case .int(let size) = dimension, size >= 0, size <= 1 << 24 else {
                    throw .invalidRequest("input '\(name)': the shape's sizes must be integers in 0...16777216")
                }
                shape.append(Int(size))
            }
            self.shape = shape
            switch fields["parameters"] {
            case nil: break
            case .object(let parameters)?:
                if let key = parameters.first?.key {
                    throw .invalidRequest(
                        key == "binary_data_size"
                            ? "input '\(name)': binary tensor data is not supported; send JSON data (tritonclient: "
                                + "set_data_from_numpy(…, binary_data=False))"
                            : "input '\(name)': parameter '\(key)' is not supported")
                }
            case let other?:
                throw .invalidRequest("input '\(name)': \"parameters\" must be an object, not \(other.typeName)")
            }
            guard let data = fields["data"] else { throw .invalidRequest("input '\(name)' has no \"data\"") }
            var elements: [JSONValue] = []
            Self.flatten(data, into: &elements)
            // The shape is the client's claim: checked against the data, never used to size anything first.
            try Self.checkCount(shape, elements.count, name)
            self.elements = elements
        }

        private static func flatten(_ value: JSONValue, into elements: inout [JSONValue]) {
            guard case .array(let items) = value else { return elements.append(value) }
            for item in items { flatten(item, into: &elements) }
        }

        /// The number of rows, after checking the shape against the feature: `[1]` or `[1, k]` for user and
        /// context features, `[n]` or `[n, k]` for item ones (`k` only for multi-categorical ones).
        func rows(isList: Bool, isItem: Bool) throws(ScoringError) -> Int {
            let expected = (isItem ? "[n" : "[1") + (isList ? ", k]" : "]")
            guard shape.count == (isList ? 2 : 1), isItem || shape[0] == 1 else {
                throw .invalidRequest("input '\(name)' must have shape \(expected), not \(shape)")
            }
            return shape[0]
        }

        /// One raw value per row, checked against the feature's kind and the datatype.
        func values(rows: Int, spec: FieldSpec) throws(ScoringError) -> [FeatureValue] {
            let isNumeric: Bool
            if case .numeric = spec.kind { isNumeric = true } else { isNumeric = false }
            let isInteger = InferRequestDecoder.integerTypes.contains(datatype)
            let accepted = isInteger || (isNumeric ? datatype == "FP32" || datatype == "FP64" : datatype == "BYTES")
            guard accepted else {
                let kinds = isNumeric ? "FP64, FP32 or an integer type" : "BYTES or an integer type"
                throw .invalidRequest("input '\(name)' has datatype \(datatype); feature '\(name)' takes \(kinds)")
            }
            let width = !spec.isMultiCategorical ? 1 : shape[1]
            var values: [FeatureValue] = []
            values.reserveCapacity(rows)
            for row in 0..<rows {
                if !spec.isMultiCategorical {
                    values.append(try value(elements[row], at: row, isNumeric: isNumeric, isInteger: isInteger))
                    continue
                }
                var ids: [FeatureValue] = []
                for element in elements[row * width..<(row + 1) * width] {
                    if case .string("") = element { continue }  // padding of a ragged list
                    ids.append(try value(element, at: row, isNumeric: false, isInteger: isInteger))
                }
                values.append(.list(ids))
            }
            return values
        }

        private func value(_ element: JSONValue, at row: Int, isNumeric: Bool, isInteger: Bool) throws(ScoringError)
            -> FeatureValue
        {
            switch (element, isInteger) {
            case (.int(let number), true): return .int(number)
            case (.string(let text), false) where !isNumeric: return .string(text)
            case (.int(let number), false) where isNumeric: return .double(Double(number))
            case (.double(let number), false) where isNumeric: return .double(number)
            default:
                throw .invalidRequest(
                    "input '\(name)', row \(row): \(element.typeName) is not a \(datatype) value")
            }
        }
    }
}

extension FieldSpec {
    /// A list of ids per row: its tensor has a second dimension.
    fileprivate var isMultiCategorical: Bool {
        if case .multiCategorical = kind { return true }
        return false
    }
}
