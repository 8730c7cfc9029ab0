/// The one contract between trainer, checkpoint and server: which raw fields a model reads and how each
/// becomes numbers. It is stored in every checkpoint header; `FeatureEncoder` is the only code that applies it.
/// The JSON form is documented in `docs/FEATURES.md`.
public struct FeatureSpec: Codable, Sendable, Equatable {
    /// Seed of the categorical hash (`FeatureHash`); changing it re-buckets every id.
    public var hashSeed: UInt64
    public var fields: [FieldSpec]

    public init(hashSeed: UInt64 = 0, fields: [FieldSpec]) {
        self.hashSeed = hashSeed
        self.fields = fields
    }

    private enum CodingKeys: String, CodingKey {
        case fields
        case hashSeed = "hash_seed"
    }

    /// Throws when a field is malformed, two fields share a name, or a cross names a field it cannot combine.
    public func validate() throws(SpecError) {
        var seen = Set<String>()
        for field in fields {
            guard seen.insert(field.name).inserted else { throw SpecError("duplicate feature field '\(field.name)'") }
            try field.validate()
            if case .ids(let ids) = field.vocabulary, VocabularyIndex(ids: ids, seed: hashSeed) == nil {
                throw SpecError("field '\(field.name)': two vocabulary ids share a hash; change hash_seed")
            }
        }
        for field in fields {
            guard case .cross(let components, _) = field.kind else { continue }
            for name in components {
                guard let component = fields.first(where: { $0.name == name }), case .categorical = component.kind
                else { throw SpecError("cross '\(field.name)': '\(name)' is not a categorical field") }
            }
            let allowed = crossGroups(of: components)
            guard allowed.contains(field.group) else {
                throw SpecError(
                    "cross '\(field.name)': group must be \(allowed.map(\.rawValue).joined(separator: " or ")) "
                        + "for its components")
            }
        }
    }
}

extension FeatureSpec {
    /// The groups a cross of `components` may have, preferred first. A cross is encoded in the block of its
    /// components: per candidate if one is an item field, only for the teacher if one is privileged, else once per
    /// request.
    public func crossGroups(of components: [String]) -> [FeatureGroup] {
        let groups = Set(components.compactMap { name in fields.first { $0.name == name }?.group })
        if groups.contains(.privileged) { return [.privileged] }
        if groups.contains(.item) { return [.item] }
        return groups.contains(.context) ? [.context, .user] : [.user, .context]
    }
}

/// Where a field's value comes from at request time; it decides which input block the field feeds.
public enum FeatureGroup: String, Codable, Sendable, CaseIterable {
    /// Sent once per request and shared by all its candidates.
    case user, context
    /// Sent per candidate.
    case item
    /// Post-click signals (dwell time, add-to-cart, …): seen only by the trainer's teacher, never served.
    case privileged
}

public enum Pooling: String, Codable, Sendable {
    /// Σ wᵢ·eᵢ.
    case sum
    /// Σ wᵢ·eᵢ / Σ wᵢ.
    case mean
}

/// How a numeric field's raw value x becomes the model's input.
public enum NumericTransform: Codable, Sendable, Equatable {
    /// x unchanged.
    case identity
    /// log(1 + max(x, 0)): for counts and prices.
    case log1p
    /// (x − mean) / std, with statistics stored at training time.
    case standardize(mean: Double, std: Double)
    /// The index of the first boundary greater than x, looked up in an embedding table.
    case bucketize(boundaries: [Double])
}

/// What a missing (absent or null) value becomes.
public enum MissingRule: String, Codable, Sendable {
    /// Categorical and bucketized fields: the learned "missing" embedding (row 0).
    /// Continuous numeric fields: the field's `defaultValue`, transformed like any value.
    case `default`
    /// The field contributes zeros.
    case zero
    /// The request (or training row) is rejected with an error naming the field.
    case reject
}

/// What an unusable value becomes: a wrong type, a non-finite number, a fractional categorical id.
public enum UnknownRule: String, Codable, Sendable {
    /// Reject with an error naming the field: the safe default, since it surfaces client bugs.
    case reject
    /// Treat it as missing (then `MissingRule` applies).
    case missing
}

public enum FeatureKind: Sendable, Equatable {
    /// One id (string or integer), hashed into `buckets` rows; row 0 is reserved for "missing".
    case categorical(buckets: Int)
    /// Several ids (a list, or an object of id → weight) hashed like `categorical` and pooled.
    case multiCategorical(buckets: Int, pooling: Pooling, maxValues: Int)
    /// A number, transformed; bucketized numbers are embedded, the others feed one input column.
    case numeric(NumericTransform)
    /// The combination of the ids of two or more categorical fields (`of`, by name), hashed into `buckets` rows: one
    /// embedding row per combination, as in Wide & Deep's cross-product features and Ali-CCP's user × item crosses.
    /// A plain network only approximates such an interaction through sums of embeddings; a cross row learns it
    /// directly. Computed by the encoder, never sent by clients; row 0 when any component is missing.
    case cross(of: [String], buckets: Int)
}

public struct SpecError: Error, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
