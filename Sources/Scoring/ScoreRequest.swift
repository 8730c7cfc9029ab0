import Ranking

/// A decoded, validated and encoded `POST /v1/score` body:
/// `{"user": {field: value}, "context": {field: value}, "candidates": [{"id": "…", "features": {…}}],
///   "top_k"?: n, "deadline_ms"?: n}`.
/// Feature values are already encoded into slots with the model's `FeatureEncoder` (the trainer's code), so a
/// batch only copies them into its workspace.
struct ScoreRequest: Sendable {
    let model: ServableModel
    let candidateIDs: [String]
    /// The shared row's slots and `candidateIDs.count` item rows of slots.
    let sharedIndices: [Int32]
    let sharedWeights: [Float]
    let itemIndices: [Int32]
    let itemWeights: [Float]
    /// Raw price per candidate when the score formula uses one.
    let prices: [Double?]
    let topK: Int?
    let deadlineMilliseconds: Int?

    var candidateCount: Int { candidateIDs.count }
}

/// Decodes request bodies; pure (bytes and a model in, a request or a typed error out), so it can be fuzzed.
struct ScoreRequestDecoder: Sendable {
    let maxCandidates: Int
    let ignoreUnknownFeatures: Bool

    private static let topLevelKeys: Set<String> = ["user", "context", "candidates", "top_k", "deadline_ms"]

    func decode(_ body: [UInt8], model: ServableModel) throws(ScoringError) -> ScoreRequest {
        let document: JSONValue
        do {
            document = try JSONParser.parse(body)
        } catch {
            throw .invalidJSON(error)
        }
        guard case .object(let members) = document else {
            throw .invalidRequest("the body must be a JSON object with \"candidates\"")
        }
        var user: [(key: String, value: JSONValue)] = []
        var context: [(key: String, value: JSONValue)] = []
        var candidates: [JSONValue]?
        var topK: Int?
        var deadline: Int?
        for (key, value) in members {
            switch key {
            case "user": user = try object(value, "user")
            case "context": context = try object(value, "context")
            case "candidates":
                guard case .array(let list) = value else { throw .invalidRequest("\"candidates\" must be an array") }
                candidates = list
            case "top_k": topK = try positiveInteger(value, "top_k")
            case "deadline_ms": deadline = try positiveInteger(value, "deadline_ms")
            default:
                throw .invalidRequest(
                    "unknown field \"\(key)\"; expected one of \(Self.topLevelKeys.sorted().joined(separator: ", "))")
            }
        }
        guard let candidates, !candidates.isEmpty else {
            throw .invalidRequest("\"candidates\" must hold at least one candidate")
        }
        guard candidates.count <= maxCandidates else { throw .tooManyCandidates(candidates.count, limit: maxCandidates) }

        let encoder = model.encoder
        let layout = encoder.layout
        // Every value by field index, shared ones for the request and item ones refilled per candidate: one array
        // per request, no dictionary per candidate.
        var values = [FeatureValue?](repeating: nil, count: encoder.spec.fields.count)
        for (section, group, members) in [("user", FeatureGroup.user, user), ("context", .context, context)] {
            for (name, value) in members {
                guard let field = servingField(named: name, encoder) else {
                    if ignoreUnknownFeatures { continue }
                    throw .invalidFeature(FeatureEncodingError(field: name, reason: .unknownField))
                }
                let owner = encoder.spec.fields[field].group
                guard owner == group else {
                    throw .invalidRequest("feature '\(name)' belongs in \"\(owner.rawValue)\", not \"\(section)\"")
                }
                values[field] = try featureValue(value, name)
            }
        }
        var sharedIndices = [Int32](repeating: 0, count: layout.shared.slotCount)
        var sharedWeights = [Float](repeating: 0, count: layout.shared.slotCount)
        do {
            try encoder.encode(block: .shared, indices: &sharedIndices, weights: &sharedWeights) {
                values[$0] ?? .missing
            }
        } catch {
            throw .invalidFeature(error)
        }
        let itemFields = layout.item.fields

        let slots = layout.item.slotCount
        var ids: [String] = []
        ids.reserveCapacity(candidates.count)
        var itemIndices = [Int32](repeating: 0, count: candidates.count * slots)
        var itemWeights = [Float](repeating: 0, count: candidates.count * slots)
        var prices: [Double?] = []
        for (position, candidate) in candidates.enumerated() {
            guard case .object(let fields) = candidate else {
                throw .invalidRequest("candidate \(position) must be an object with \"id\" and \"features\"")
            }
            var id: String?
            for field in itemFields { values[field] = nil }
            for (key, value) in fields {
                switch (key, value) {
                case ("id", .string(let text)): id = text
                case ("id", .int(let number)): id = String(number)
                case ("features", .object(let members)):
                    for (name, raw) in members {
                        guard let field = servingField(named: name, encoder), encoder.spec.fields[field].group == .item
                        else {
                            if ignoreUnknownFeatures { continue }
                            let unknown = FeatureEncodingError(field: name, reason: .unknownField)
                            throw .invalidFeature(unknown, candidate: position)
                        }
                        values[field] = try featureValue(raw, name)
                    }
                default:
                    throw .invalidRequest(
                        "candidate \(position): unexpected \"\(key)\" (\(value.typeName)); a candidate is {\"id\": string, \"features\": object}")
                }
            }
            guard let id else { throw .invalidRequest("candidate \(position) has no \"id\"") }
            ids.append(id)
            do {
                try itemIndices.withUnsafeMutableBufferPointer { indices throws(FeatureEncodingError) in
                    try itemWeights.withUnsafeMutableBufferPointer { weights throws(FeatureEncodingError) in
                        try encoder.encode(
                            block: .item, indices: indices.baseAddress! + position * slots,
                            weights: weights.baseAddress! + position * slots
                        ) { values[$0] ?? .missing }
                    }
                }
            } catch {
                throw .invalidFeature(error, candidate: position)
            }
            if let field = model.priceField {
                switch values[field] {
                case .int(let value): prices.append(Double(value))
                case .double(let value): prices.append(value)
                default: prices.append(nil)
                }
            }
        }
        return ScoreRequest(
            model: model, candidateIDs: ids, sharedIndices: sharedIndices, sharedWeights: sharedWeights,
            itemIndices: itemIndices, itemWeights: itemWeights, prices: prices, topK: topK,
            deadlineMilliseconds: deadline)
    }

    /// The index of the field a client may send under `name`: a field of the model other than a cross (crosses
    /// are computed from their components) or a privileged one (never served).
    private func servingField(named name: String, _ encoder: FeatureEncoder) -> Int? {
        guard let field = encoder.field(named: name) else { return nil }
        if case .cross = encoder.spec.fields[field].kind { return nil }
        return encoder.spec.fields[field].group == .privileged ? nil : field
    }

    private func object(_ value: JSONValue, _ name: String) throws(ScoringError) -> [(key: String, value: JSONValue)] {
        switch value {
        case .object(let members): return members
        case .null: return []
        default: throw .invalidRequest("\"\(name)\" must be an object of feature values, not \(value.typeName)")
        }
    }

    private func positiveInteger(_ value: JSONValue, _ name: String) throws(ScoringError) -> Int {
        guard case .int(let number) = value, number >= 1, number <= 1_000_000_000 else {
            throw .invalidRequest("\"\(name)\" must be an integer in 1...1000000000")
        }
        return Int(number)
    }

    /// JSON → raw feature value; the encoder then applies the field's rules (types, missing, unknown).
    private func featureValue(_ value: JSONValue, _ name: String) throws(ScoringError) -> FeatureValue {
        switch value {
        case .null: return .missing
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        case .string(let text): return .string(text)
        case .bool: throw .invalidRequest("feature '\(name)' is a boolean; send a number or a string")
        case .array(let elements):
            return .list(try elements.map { element throws(ScoringError) in
                switch element {
                case .int(let number): return .int(number)
                case .string(let text): return .string(text)
                case .double(let number): return .double(number)
                default: throw .invalidRequest("feature '\(name)': list elements must be ids (strings or integers)")
                }
            })
        case .object(let members):
            return .weighted(try members.map { id, weight throws(ScoringError) in
                switch weight {
                case .int(let number): return WeightedID(id: .string(id), weight: Double(number))
                case .double(let number): return WeightedID(id: .string(id), weight: number)
                default: throw .invalidRequest("feature '\(name)': weights must be numbers")
                }
            })
        }
    }
}
