import Ranking

/// A continuous numeric field to bucketize at the quantiles of its training values (schema key
/// `"quantile_buckets": {"price": {"buckets": 16, "dimension": 4}}`): each bucket then gets an embedding row, so the
/// model can learn any shape of effect, where a continuous input only scales one weight.
public struct QuantileBuckets: Codable, Sendable, Equatable {
    public var buckets: Int
    /// Embedding width of the bucketized field.
    public var dimension: Int

    public init(buckets: Int, dimension: Int = 4) {
        self.buckets = buckets
        self.dimension = dimension
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        buckets = try c.decode(Int.self, forKey: .buckets)
        dimension = try c.decodeIfPresent(Int.self, forKey: .dimension) ?? 4
    }

    /// Values kept per field to place the boundaries (a seeded reservoir sample beyond it).
    static let sampleSize = 1_000_000

    /// Boundaries at the 1/n … (n−1)/n quantiles of `values`, strictly increasing (ties merge buckets).
    static func boundaries(of values: [Double], buckets: Int) -> [Double] {
        let sorted = values.sorted()
        guard let first = sorted.first else { return [0] }
        var bounds: [Double] = []
        for index in 1..<buckets {
            let value = sorted[index * sorted.count / buckets]
            if value > (bounds.last ?? -.infinity) && value > first { bounds.append(value) }
        }
        return bounds.isEmpty ? [first] : bounds
    }
}

extension TrainingSchema {
    /// The schema with every field of `quantileBuckets` bucketized at the quantiles of its values in `file` (the
    /// boundaries are stored in the field, so the checkpoint carries them and serving buckets alike); the map is
    /// emptied. A schema without quantile buckets comes back unchanged.
    public func resolvingQuantileBuckets(file: String) throws(DataError) -> TrainingSchema {
        guard !quantileBuckets.isEmpty else { return self }
        let csv = try CSVReader(path: file)
        let targets = quantileBuckets.keys.sorted().compactMap { name -> (field: Int, column: Int)? in
            guard let field = features.fields.firstIndex(where: { $0.name == name }) else { return nil }
            return csv.header.firstIndex(of: column(of: features.fields[field])).map { (field, $0) }
        }
        var samples = Array(repeating: [Double](), count: targets.count)
        var seen = 0
        var random = SplitMix64(seed: 0x5EED)
        while let cells = try csv.next() {
            seen += 1
            for (target, (_, column)) in targets.enumerated() where column < cells.count {
                guard let value = Double(cells[column]), value.isFinite else { continue }
                if samples[target].count < QuantileBuckets.sampleSize {
                    samples[target].append(value)
                } else {
                    let slot = Int(random.next() % UInt64(seen))
                    if slot < QuantileBuckets.sampleSize { samples[target][slot] = value }
                }
            }
        }
        var resolved = self
        for (target, (field, _)) in targets.enumerated() {
            let name = features.fields[field].name
            let rule = quantileBuckets[name]!
            resolved.features.fields[field].kind = .numeric(
                .bucketize(boundaries: QuantileBuckets.boundaries(of: samples[target], buckets: rule.buckets)))
            resolved.features.fields[field].dimension = rule.dimension
            resolved.features.fields[field].clip = nil
        }
        resolved.quantileBuckets = [:]
        return resolved
    }
}
