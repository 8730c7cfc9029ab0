#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Raw values → encoded slots: the single function the trainer and the server both call, so the two
/// can never disagree about what a value means.
///
/// An encoded row of a block is `slotCount` pairs (index, weight) written into two parallel buffers:
/// - categorical: index = hashed bucket, or the id's `Vocabulary` row (row 0 = missing), weight = 1 (0 under
///   `MissingRule.zero`);
/// - multi-categorical: one slot per id, weights pre-scaled for mean pooling; unused slots (0, 0);
///   ids beyond `max_values` are dropped (the first ones are kept, in the order given; the mean is over those);
/// - bucketized numeric: index = 1 + number of boundaries ≤ x (row 0 = missing), weight = 1;
/// - continuous numeric: index = 0, weight = the transformed value of x clamped to the field's `clip` range, if any;
/// - cross: index = 1 + XXH64(the components' id hashes) mod (buckets − 1), weight = 1; row 0 if a component is
///   missing or unusable (the component itself reports an unusable value).
/// `EmbeddingLookup` turns slots into input columns.
public struct FeatureEncoder: Sendable {
    public let layout: InputLayout
    private let fieldIndex: [String: Int]
    /// Indexed like `spec.fields`: a cross field's components (field indices), nil for other fields.
    private let crossComponents: [[Int]?]
    /// Indexed like `spec.fields`: the search structure of a field's built vocabulary.
    private let vocabularies: [VocabularyIndex?]

    public init(spec: FeatureSpec) {
        layout = InputLayout(spec: spec)
        let fieldIndex = Dictionary(
            spec.fields.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.fieldIndex = fieldIndex
        crossComponents = spec.fields.map { field in
            guard case .cross(let components, _) = field.kind else { return nil }
            return components.compactMap { fieldIndex[$0] }
        }
        vocabularies = spec.fields.map { field in
            guard case .ids(let ids) = field.vocabulary else { return nil }
            return VocabularyIndex(ids: ids, seed: spec.hashSeed)
        }
    }

    public var spec: FeatureSpec { layout.spec }

    /// The index of the field called `name`, if the spec has one.
    public func field(named name: String) -> Int? { fieldIndex[name] }

    /// Encodes every field of `block` from `values` (keyed by field name) into one row. Fields absent from `values`
    /// are missing. Cross fields are computed from their components, looked up in `values` and then in `shared`
    /// (the request's user and context values, for item crosses). Names that are not fields of this block, crosses
    /// included, throw `.unknownField` unless `ignoringUnknownFields`.
    public func encode(
        _ values: [String: FeatureValue], block kind: InputLayout.BlockKind, shared: [String: FeatureValue] = [:],
        indices: UnsafeMutablePointer<Int32>, weights: UnsafeMutablePointer<Float>,
        ignoringUnknownFields: Bool = false
    ) throws(FeatureEncodingError) {
        let block = layout.block(kind)
        var matched = 0
        for field in block.fields {
            let name = spec.fields[field].name
            if crossComponents[field] != nil {
                encodeCross(field: field, indices: indices, weights: weights) { values[$0] ?? shared[$0] ?? .missing }
                continue
            }
            let value = values[name]
            if value != nil { matched += 1 }
            try encode(value ?? .missing, field: field, indices: indices, weights: weights)
        }
        if matched < values.count, !ignoringUnknownFields {
            let known = Set(block.fields.filter { crossComponents[$0] == nil }.map { spec.fields[$0].name })
            let unknown = values.keys.filter { !known.contains($0) }.sorted().first ?? ""
            throw FeatureEncodingError(field: unknown, reason: .unknownField)
        }
    }

    /// Encodes every field of `block` into one row, the value of field `i` (an index into `spec.fields`) being
    /// `value(i)` (`.missing` when absent); a cross field combines its components' values, looked up the same way.
    /// For callers that hold values in an array indexed like `spec.fields` (the request decoder): no name is hashed
    /// and no dictionary is built per row.
    public func encode(
        block kind: InputLayout.BlockKind, indices: UnsafeMutablePointer<Int32>, weights: UnsafeMutablePointer<Float>,
        value: (Int) -> FeatureValue
    ) throws(FeatureEncodingError) {
        for field in layout.block(kind).fields {
            if crossComponents[field] != nil {
                encodeCross(field: field, indices: indices, weights: weights) { fieldIndex[$0].map(value) ?? .missing }
            } else {
                try encode(value(field), field: field, indices: indices, weights: weights)
            }
        }
    }

    /// Encodes cross field `field` into its slot of a row of its block; `value` gives a component's value by name.
    public func encodeCross(
        field: Int, indices: UnsafeMutablePointer<Int32>, weights: UnsafeMutablePointer<Float>,
        value: (String) -> FeatureValue
    ) {
        guard case .cross(let names, let buckets) = spec.fields[field].kind else {
            preconditionFailure("field '\(spec.fields[field].name)' is not a cross")
        }
        let slot = layout.placements[field].slotOffset
        weights[slot] = 1
        indices[slot] = withUnsafeTemporaryAllocation(of: UInt64.self, capacity: names.count) { keys -> Int32 in
            for (position, name) in names.enumerated() {
                guard let key = try? idHash(of: value(name)) else { return 0 }  // row 0: a component is missing
                keys[position] = key.littleEndian
            }
            let hash = FeatureHash.xxh64(UnsafeRawBufferPointer(UnsafeBufferPointer(keys)), seed: spec.hashSeed)
            return Int32(1 + hash % UInt64(buckets - 1))
        }
    }

    /// Encodes one field's value into its slots of a row of the field's block.
    /// `indices` and `weights` point at the start of that row.
    public func encode(
        _ value: FeatureValue, field: Int, indices: UnsafeMutablePointer<Int32>, weights: UnsafeMutablePointer<Float>
    ) throws(FeatureEncodingError) {
        let spec = self.spec.fields[field]
        let slots = layout.placements[field].slotOffset
        let index = indices + slots
        let weight = weights + slots
        for slot in 0..<spec.slotCount {
            index[slot] = 0
            weight[slot] = 0
        }
        do throws(Unusable) {
            try encodePresent(value, spec, vocabularies[field], index, weight)
        } catch {
            if case .invalid(let reason) = error, spec.unknown == .reject {
                throw FeatureEncodingError(field: spec.name, reason: reason)
            }
            for slot in 0..<spec.slotCount {  // a bag may have failed half-way
                index[slot] = 0
                weight[slot] = 0
            }
            try encodeMissing(spec, index, weight)
        }
    }

    private enum Unusable: Error {
        case missing
        case invalid(FeatureEncodingError.Reason)
    }

    private func encodePresent(
        _ value: FeatureValue, _ spec: FieldSpec, _ vocabulary: VocabularyIndex?, _ index: UnsafeMutablePointer<Int32>,
        _ weight: UnsafeMutablePointer<Float>
    ) throws(Unusable) {
        if value == .missing { throw .missing }
        switch spec.kind {
        case .cross:
            preconditionFailure("cross '\(spec.name)' is encoded from its components (encodeCross)")
        case .categorical(let buckets):
            index[0] = try row(of: value, buckets: buckets, vocabulary)
            weight[0] = 1
        case .multiCategorical(let buckets, let pooling, let maxValues):
            let ids: [WeightedID]
            switch value {
            case .list(let list): ids = list.map { WeightedID(id: $0, weight: 1) }
            case .weighted(let list): ids = list
            default: ids = [WeightedID(id: value, weight: 1)]  // a single id is a bag of one
            }
            if ids.isEmpty { throw .missing }
            var total = 0.0
            for (slot, entry) in ids.prefix(maxValues).enumerated() {
                guard entry.weight.isFinite else { throw .invalid(.nonFinite) }
                index[slot] = try row(of: entry.id, buckets: buckets, vocabulary)
                weight[slot] = Float(entry.weight)
                total += entry.weight
            }
            if pooling == .mean {
                let scale = total > 0 ? Float(1 / total) : 0
                for slot in 0..<min(ids.count, maxValues) { weight[slot] *= scale }
            }
        case .numeric(let transform):
            let x: Double
            switch value {
            case .int(let v): x = Double(v)
            case .double(let v): x = v
            default: throw .invalid(.wrongType(expected: "a number"))
            }
            guard x.isFinite else { throw .invalid(.nonFinite) }
            encodeNumber(spec.clip.map { min(max(x, $0.lowerBound), $0.upperBound) } ?? x, transform, index, weight)
        }
    }

    private func encodeMissing(
        _ spec: FieldSpec, _ index: UnsafeMutablePointer<Int32>, _ weight: UnsafeMutablePointer<Float>
    ) throws(FeatureEncodingError) {
        switch spec.missing {
        case .reject:
            throw FeatureEncodingError(field: spec.name, reason: .missingRequired)
        case .zero:
            break  // slots stay (0, 0)
        case .default:
            if case .numeric(let transform) = spec.kind, spec.tableRows == nil {
                encodeNumber(spec.defaultValue, transform, index, weight)
            } else {
                weight[0] = 1  // index 0: the learned "missing" row
            }
        }
    }

    private func encodeNumber(
        _ x: Double, _ transform: NumericTransform, _ index: UnsafeMutablePointer<Int32>,
        _ weight: UnsafeMutablePointer<Float>
    ) {
        switch transform {
        case .identity: weight[0] = Float(x)
        case .log1p: weight[0] = Float(log1p(max(x, 0)))
        case .standardize(let mean, let std): weight[0] = Float((x - mean) / std)
        case .bucketize(let boundaries):
            var below = 0  // boundaries ≤ x, by binary search
            var upper = boundaries.count
            while below < upper {
                let mid = (below + upper) / 2
                if boundaries[mid] <= x { below = mid + 1 } else { upper = mid }
            }
            index[0] = Int32(1 + below)
            weight[0] = 1
        }
    }

    /// The embedding row of an id: its vocabulary row (or the out-of-vocabulary row), else its hashed bucket.
    private func row(of id: FeatureValue, buckets: Int, _ vocabulary: VocabularyIndex?) throws(Unusable) -> Int32 {
        let hash = try idHash(of: id)
        return vocabulary?.row(ofHash: hash) ?? Int32(1 + hash % UInt64(buckets - 1))
    }

    /// XXH64 of an id's canonical bytes (`FeatureHash`): a string as is, an integer as its decimal digits.
    private func idHash(of id: FeatureValue) throws(Unusable) -> UInt64 {
        let seed = spec.hashSeed
        switch id {
        case .string(let s):
            var s = s
            return s.withUTF8 { FeatureHash.xxh64($0, seed: seed) }
        case .int(let v):
            return FeatureHash.hash(of: v, seed: seed)
        case .double(let v):
            guard v.isFinite else { throw .invalid(.nonFinite) }
            guard v == v.rounded(), let integral = Int64(exactly: v) else {
                throw .invalid(.wrongType(expected: "an integer or string id"))
            }
            return FeatureHash.hash(of: integral, seed: seed)
        case .missing:
            throw .missing
        case .list, .weighted:
            throw .invalid(.wrongType(expected: "an integer or string id"))
        }
    }
}
