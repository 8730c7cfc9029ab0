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
    private static let topLevelKeyBits = Dictionary(
        uniqueKeysWithValues: topLevelKeys.sorted().enumerated().map { ($1, UInt8(1) << $0) })

    func decode(_ body: [UInt8], model: ServableModel) throws(ScoringError) -> ScoreRequest {
        try body.withUnsafeBufferPointer { bytes throws(ScoringError) in try decode(bytes, model: model) }
    }

    /// The body in two passes, with no tree for the candidates (which are most of it). The first checks the whole
    /// document as JSON, reads `user`, `context`, `top_k` and `deadline_ms`, and only checks and counts the
    /// candidates, keeping their position. The second reads the candidates from there straight into their rows.
    /// A syntax error anywhere wins over a semantic one, as if the document had been parsed first.
    private func decode(
        _ bytes: UnsafeBufferPointer<UInt8>, model: ServableModel
    ) throws(ScoringError) -> ScoreRequest {
        var reader = JSONParser(bytes: bytes)
        var user: [(key: String, value: JSONValue)] = []
        var context: [(key: String, value: JSONValue)] = []
        var candidatesAt: Int?
        var candidateCount = 0
        var topK: Int?
        var deadline: Int?
        var problem: ScoringError?  // the first semantic error, thrown once the document is known to be JSON
        func note(_ check: () throws(ScoringError) -> Void) {
            do { try check() } catch { problem = problem ?? error }
        }
        reader.skipWhitespace()
        guard reader.consume(UInt8(ascii: "{")) else {
            _ = try json { () throws(JSONParseError) in try JSONParser.parse(Array(bytes)) }  // JSON at all?
            throw .invalidRequest("the body must be a JSON object with \"candidates\"")
        }
        var seenKeys: UInt8 = 0  // a bit per name of `topLevelKeys`
        var unknownKeys: Set<String>?  // made only when a body has one
        if !reader.consume(UInt8(ascii: "}")) {
            repeat {
                reader.skipWhitespace()
                let keyStart = reader.position
                let key = try json { () throws(JSONParseError) in try reader.parseKey() }
                let isDuplicate: Bool
                if let bit = Self.topLevelKeyBits[key] {
                    isDuplicate = seenKeys & bit != 0
                    seenKeys |= bit
                } else {
                    isDuplicate = !unknownKeys.insertingIfNeeded(key)
                }
                guard !isDuplicate else {
                    throw .invalidJSON(JSONParseError(message: "duplicate key \"\(key)\"", offset: keyStart))
                }
                switch key {
                case "user", "context":
                    let value = try json { () throws(JSONParseError) in try reader.parseValue(depth: 1) }
                    note { () throws(ScoringError) in
                        if key == "user" { user = try object(value, key) } else { context = try object(value, key) }
                    }
                case "candidates" where reader.current == UInt8(ascii: "["):
                    candidatesAt = reader.position
                    candidateCount = try json { () throws(JSONParseError) in try reader.skipValue(depth: 1) }
                case "candidates":
                    _ = try json { () throws(JSONParseError) in try reader.skipValue(depth: 1) }
                    note { () throws(ScoringError) in throw .invalidRequest("\"candidates\" must be an array") }
                case "top_k", "deadline_ms":
                    let value = try json { () throws(JSONParseError) in try reader.parseValue(depth: 1) }
                    note { () throws(ScoringError) in
                        if key == "top_k" {
                            topK = try positiveInteger(value, key)
                        } else {
                            deadline = try positiveInteger(value, key)
                        }
                    }
                default:
                    _ = try json { () throws(JSONParseError) in try reader.skipValue(depth: 1) }
                    note { () throws(ScoringError) in
                        throw .invalidRequest(
                            "unknown field \"\(key)\"; expected one of "
                                + Self.topLevelKeys.sorted().joined(separator: ", "))
                    }
                }
            } while try json({ () throws(JSONParseError) in try !reader.endOrComma(UInt8(ascii: "}")) })
        }
        reader.skipWhitespace()
        guard reader.position == bytes.count else {
            throw .invalidJSON(reader.error("unexpected data after the JSON value"))
        }
        if let problem { throw problem }
        guard let candidatesAt, candidateCount > 0 else {
            throw .invalidRequest("\"candidates\" must hold at least one candidate")
        }
        guard candidateCount <= maxCandidates else { throw .tooManyCandidates(candidateCount, limit: maxCandidates) }

        let encoder = model.encoder
        var builder = ScoreRequestBuilder(model: model, candidateCount: candidateCount)
        for (section, group, members) in [("user", FeatureGroup.user, user), ("context", .context, context)] {
            for (name, value) in members {
                guard let field = encoder.servingField(named: name) else {
                    if ignoreUnknownFeatures { continue }
                    throw .invalidFeature(FeatureEncodingError(field: name, reason: .unknownField))
                }
                let owner = encoder.spec.fields[field].group
                guard owner == group else {
                    throw .invalidRequest("feature '\(name)' belongs in \"\(owner.rawValue)\", not \"\(section)\"")
                }
                builder.values[field] = try featureValue(value, name)
            }
        }
        try builder.encodeShared()
        // Pass 2: the candidates, already known to be valid JSON, read member by member.
        reader.seek(to: candidatesAt)
        _ = reader.consume(UInt8(ascii: "["))
        for position in 0..<candidateCount {
            var id: String?
            builder.clearItemValues()
            guard reader.consume(UInt8(ascii: "{")) else {
                throw .invalidRequest("candidate \(position) must be an object with \"id\" and \"features\"")
            }
            if !reader.consume(UInt8(ascii: "}")) {
                repeat {
                    let key = try json { () throws(JSONParseError) in try reader.parseKey() }
                    if key == "features" && reader.current == UInt8(ascii: "{") {
                        try readFeatures(&reader, into: &builder.values, encoder, candidate: position)
                        continue
                    }
                    switch (key, try json { () throws(JSONParseError) in try reader.parseValue(depth: 2) }) {
                    case ("id", .string(let text)): id = text
                    case ("id", .int(let number)): id = String(number)
                    case (_, let value):
                        throw .invalidRequest(
                            "candidate \(position): unexpected \"\(key)\" (\(value.typeName)); a candidate is "
                                + "{\"id\": string, \"features\": object}")
                    }
                } while try json({ () throws(JSONParseError) in try !reader.endOrComma(UInt8(ascii: "}")) })
            }
            _ = try json { () throws(JSONParseError) in try reader.endOrComma(UInt8(ascii: "]")) }
            guard let id else { throw .invalidRequest("candidate \(position) has no \"id\"") }
            try builder.appendCandidate(id: id)
        }
        return builder.build(topK: topK, deadlineMilliseconds: deadline)
    }

    /// A candidate's `features` object, each value stored by field index.
    private func readFeatures(
        _ reader: inout JSONParser, into values: inout [FeatureValue?], _ encoder: FeatureEncoder, candidate: Int
    ) throws(ScoringError) {
        _ = reader.consume(UInt8(ascii: "{"))
        if reader.consume(UInt8(ascii: "}")) { return }
        repeat {
            let name = try json { () throws(JSONParseError) in try reader.parseKey() }
            let raw = try json { () throws(JSONParseError) in try reader.parseValue(depth: 3) }
            guard let field = encoder.servingField(named: name), encoder.spec.fields[field].group == .item else {
                if ignoreUnknownFeatures { continue }
                throw .invalidFeature(FeatureEncodingError(field: name, reason: .unknownField), candidate: candidate)
            }
            values[field] = try featureValue(raw, name)
        } while try json({ () throws(JSONParseError) in try !reader.endOrComma(UInt8(ascii: "}")) })
    }

    /// A step of the JSON reader, its syntax error as the request's error.
    private func json<T>(_ step: () throws(JSONParseError) -> T) throws(ScoringError) -> T {
        do { return try step() } catch { throw .invalidJSON(error) }
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
            return .list(
                try elements.map { element throws(ScoringError) in
                    switch element {
                    case .int(let number): return .int(number)
                    case .string(let text): return .string(text)
                    case .double(let number): return .double(number)
                    default: throw .invalidRequest("feature '\(name)': list elements must be ids (strings or integers)")
                    }
                })
        case .object(let members):
            return .weighted(
                try members.map { id, weight throws(ScoringError) in
                    switch weight {
                    case .int(let number): return WeightedID(id: .string(id), weight: Double(number))
                    case .double(let number): return WeightedID(id: .string(id), weight: number)
                    default: throw .invalidRequest("feature '\(name)': weights must be numbers")
                    }
                })
        }
    }
}

extension Optional where Wrapped == Set<String> {
    /// Inserts `key`, making the set on first use; `false` if it was there.
    fileprivate mutating func insertingIfNeeded(_ key: String) -> Bool {
        if self == nil { self = [] }
        return self!.insert(key).inserted
    }
}
