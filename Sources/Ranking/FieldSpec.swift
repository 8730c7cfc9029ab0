/// One named input field. JSON (flat, snake_case), e.g.
/// `{"name": "user_id", "group": "user", "kind": "categorical", "buckets": 100000, "dimension": 16}` or
/// `{"name": "price", "group": "item", "kind": "numeric", "transform": "log1p", "missing": "default", "default_value": 0}`.
public struct FieldSpec: Sendable, Equatable {
    public var name: String
    public var group: FeatureGroup
    public var kind: FeatureKind
    /// Embedding width for categorical and bucketized fields; 1 for continuous numeric fields.
    public var dimension: Int
    public var missing: MissingRule
    public var unknown: UnknownRule
    /// The raw value a missing continuous numeric field takes under `MissingRule.default`.
    public var defaultValue: Double
    /// Continuous numeric fields: raw values are clamped to this range before the transform (JSON `"clip": [lo, hi]`).
    /// The trainer sets it to the range of its training data, so a serving value far outside what the model saw
    /// (a score of 87 on a field trained on [0, 1]) cannot drive a probability to exactly 0 or 1.
    public var clip: ClosedRange<Double>?
    /// Categorical and multi-categorical fields: exact ids in place of hashing (`Vocabulary`); `buckets` is then the
    /// vocabulary's size + 2.
    public var vocabulary: Vocabulary?

    public init(
        name: String, group: FeatureGroup, kind: FeatureKind, dimension: Int,
        missing: MissingRule = .default, unknown: UnknownRule = .reject, defaultValue: Double = 0,
        clip: ClosedRange<Double>? = nil, vocabulary: Vocabulary? = nil
    ) {
        self.name = name
        self.group = group
        self.kind = kind
        self.dimension = dimension
        self.missing = missing
        self.unknown = unknown
        self.defaultValue = defaultValue
        self.clip = clip
        self.vocabulary = vocabulary
    }

    /// Whether the trainer has yet to build this field's vocabulary from its training data.
    public var vocabularyToBuild: Bool {
        if case .fromTrainingData = vocabulary { return true }
        return false
    }

    /// A continuous numeric field: one input column, no embedding table.
    public var isContinuous: Bool {
        if case .numeric = kind { return tableRows == nil }
        return false
    }

    /// Rows of this field's embedding table, or nil when the field feeds one input column directly.
    public var tableRows: Int? {
        switch kind {
        case .categorical(let buckets), .multiCategorical(let buckets, _, _), .cross(_, let buckets): buckets
        case .numeric(.bucketize(let boundaries)): boundaries.count + 2  // row 0 = missing
        case .numeric: nil
        }
    }

    /// Slots this field occupies in an encoded row (one index and one weight per slot).
    public var slotCount: Int {
        if case .multiCategorical(_, _, let maxValues) = kind { return maxValues }
        return 1
    }

    func validate() throws(SpecError) {
        guard !name.isEmpty, name.utf8.count <= 256 else { throw SpecError("field name must have 1...256 bytes") }
        guard dimension >= 1, dimension <= 4096 else {
            throw SpecError("field '\(name)': dimension \(dimension) outside 1...4096")
        }
        switch kind {
        case .categorical(let buckets), .multiCategorical(let buckets, _, _), .cross(_, let buckets):
            if case .cross(let components, _) = kind {
                guard components.count >= 2, Set(components).count == components.count else {
                    throw SpecError("field '\(name)': a cross combines two or more distinct fields")
                }
            }
            guard buckets >= 2, buckets <= Int(Int32.max) else {
                throw SpecError("field '\(name)': buckets \(buckets) outside 2...\(Int32.max)")
            }
            if case .multiCategorical(_, _, let maxValues) = kind, !(1...4096).contains(maxValues) {
                throw SpecError("field '\(name)': max_values \(maxValues) outside 1...4096")
            }
        case .numeric(let transform):
            guard defaultValue.isFinite else { throw SpecError("field '\(name)': default_value must be finite") }
            switch transform {
            case .identity, .log1p:
                break
            case .standardize(let mean, let std):
                guard mean.isFinite, std.isFinite, std > 0 else {
                    throw SpecError("field '\(name)': standardize needs a finite mean and std > 0")
                }
            case .bucketize(let boundaries):
                guard !boundaries.isEmpty, boundaries.allSatisfy(\.isFinite),
                    zip(boundaries, boundaries.dropFirst()).allSatisfy({ $0 < $1 })
                else { throw SpecError("field '\(name)': bucketize boundaries must be finite and increasing") }
            }
            if tableRows == nil, dimension != 1 {
                throw SpecError("field '\(name)': a continuous numeric field has dimension 1")
            }
        }
        switch (vocabulary, kind) {
        case (nil, _):
            break
        case (.fromTrainingData(let minCount), .categorical), (.fromTrainingData(let minCount), .multiCategorical):
            guard minCount >= 1 else { throw SpecError("field '\(name)': vocabulary min_count must be at least 1") }
        case (.ids(let ids), .categorical(let buckets)), (.ids(let ids), .multiCategorical(let buckets, _, _)):
            guard buckets == ids.count + Vocabulary.firstIDRow else {
                throw SpecError("field '\(name)': buckets must be the vocabulary's \(ids.count) ids + 2")
            }
            guard Set(ids).count == ids.count else { throw SpecError("field '\(name)': the vocabulary repeats an id") }
        default:
            throw SpecError("field '\(name)': only categorical fields have a vocabulary")
        }
        if let clip {
            guard isContinuous, clip.lowerBound.isFinite, clip.upperBound.isFinite else {
                throw SpecError("field '\(name)': clip needs a continuous numeric field and finite bounds")
            }
        }
    }
}

extension FieldSpec: Codable {
    private enum CodingKeys: String, CodingKey {
        case name, group, kind, buckets, pooling, transform, mean, std, boundaries, dimension, missing, unknown, of
        case maxValues = "max_values"
        case defaultValue = "default_value"
        case clip, vocabulary
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        group = try c.decode(FeatureGroup.self, forKey: .group)
        missing = try c.decodeIfPresent(MissingRule.self, forKey: .missing) ?? .default
        unknown = try c.decodeIfPresent(UnknownRule.self, forKey: .unknown) ?? .reject
        defaultValue = try c.decodeIfPresent(Double.self, forKey: .defaultValue) ?? 0
        let kindName = try c.decode(String.self, forKey: .kind)
        // A categorical field without buckets gets a vocabulary: exact ids, built by the trainer.
        var vocabulary = try c.decodeIfPresent(Vocabulary.self, forKey: .vocabulary)
        if vocabulary == nil, ["categorical", "multi_categorical"].contains(kindName), !c.contains(.buckets) {
            vocabulary = .fromTrainingData(minCount: Vocabulary.defaultMinCount)
        }
        self.vocabulary = vocabulary
        func idBuckets() throws -> Int {
            switch vocabulary {
            case .ids(let ids): try c.decodeIfPresent(Int.self, forKey: .buckets) ?? ids.count + Vocabulary.firstIDRow
            case .fromTrainingData: try c.decodeIfPresent(Int.self, forKey: .buckets) ?? Vocabulary.firstIDRow
            case nil: try c.decode(Int.self, forKey: .buckets)
            }
        }
        switch kindName {
        case "categorical":
            kind = .categorical(buckets: try idBuckets())
        case "multi_categorical":
            kind = .multiCategorical(
                buckets: try idBuckets(),
                pooling: try c.decodeIfPresent(Pooling.self, forKey: .pooling) ?? .sum,
                maxValues: try c.decodeIfPresent(Int.self, forKey: .maxValues) ?? 64)
        case "cross":
            kind = .cross(
                of: try c.decode([String].self, forKey: .of), buckets: try c.decode(Int.self, forKey: .buckets))
        case "numeric":
            let transformName = try c.decodeIfPresent(String.self, forKey: .transform) ?? "identity"
            switch transformName {
            case "identity": kind = .numeric(.identity)
            case "log1p": kind = .numeric(.log1p)
            case "standardize":
                kind = .numeric(
                    .standardize(
                        mean: try c.decode(Double.self, forKey: .mean), std: try c.decode(Double.self, forKey: .std)))
            case "bucketize":
                kind = .numeric(.bucketize(boundaries: try c.decode([Double].self, forKey: .boundaries)))
            default:
                throw DecodingError.dataCorruptedError(
                    forKey: .transform, in: c, debugDescription: "unknown numeric transform '\(transformName)'")
            }
        default:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "unknown kind '\(kindName)'")
        }
        dimension = try c.decodeIfPresent(Int.self, forKey: .dimension) ?? 1
        if let bounds = try c.decodeIfPresent([Double].self, forKey: .clip) {
            guard bounds.count == 2, bounds[0] <= bounds[1] else {
                throw DecodingError.dataCorruptedError(
                    forKey: .clip, in: c, debugDescription: "clip must be [lower, upper] with lower ≤ upper")
            }
            clip = bounds[0]...bounds[1]
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(group, forKey: .group)
        switch kind {
        case .categorical(let buckets):
            try c.encode("categorical", forKey: .kind)
            try c.encode(buckets, forKey: .buckets)
        case .multiCategorical(let buckets, let pooling, let maxValues):
            try c.encode("multi_categorical", forKey: .kind)
            try c.encode(buckets, forKey: .buckets)
            try c.encode(pooling, forKey: .pooling)
            try c.encode(maxValues, forKey: .maxValues)
        case .cross(let components, let buckets):
            try c.encode("cross", forKey: .kind)
            try c.encode(components, forKey: .of)
            try c.encode(buckets, forKey: .buckets)
        case .numeric(let transform):
            try c.encode("numeric", forKey: .kind)
            switch transform {
            case .identity: try c.encode("identity", forKey: .transform)
            case .log1p: try c.encode("log1p", forKey: .transform)
            case .standardize(let mean, let std):
                try c.encode("standardize", forKey: .transform)
                try c.encode(mean, forKey: .mean)
                try c.encode(std, forKey: .std)
            case .bucketize(let boundaries):
                try c.encode("bucketize", forKey: .transform)
                try c.encode(boundaries, forKey: .boundaries)
            }
            try c.encode(defaultValue, forKey: .defaultValue)
            if let clip { try c.encode([clip.lowerBound, clip.upperBound], forKey: .clip) }
        }
        try c.encodeIfPresent(vocabulary, forKey: .vocabulary)
        try c.encode(dimension, forKey: .dimension)
        try c.encode(missing, forKey: .missing)
        try c.encode(unknown, forKey: .unknown)
    }
}
