/// Exact ids for a categorical field, in place of hashing them into buckets: each known id gets an embedding row of
/// its own, so two ids never share one. Rows: 0 = missing, 1 = out of vocabulary (an id not in the list, e.g. a new
/// item), 2 + i = `ids[i]`. JSON: `"vocabulary": {"min_count": 2}` in a training schema asks the trainer to build it
/// from the training data; the checkpoint stores the result as `"vocabulary": ["c30", "c14", …]`.
public enum Vocabulary: Sendable, Equatable {
    /// To be built by `funnel-train train`: the ids seen at least `minCount` times in the training file.
    case fromTrainingData(minCount: Int)
    /// The built vocabulary: canonical ids (an integer id as its decimal digits), most frequent first.
    case ids([String])

    /// What a categorical field without `buckets` or `vocabulary` gets.
    public static let defaultMinCount = 2
    public static let outOfVocabularyRow: Int32 = 1
    public static let firstIDRow = 2
}

extension Vocabulary: Codable {
    private enum CodingKeys: String, CodingKey {
        case minCount = "min_count"
    }

    public init(from decoder: any Decoder) throws {
        if let ids = try? decoder.singleValueContainer().decode([String].self) {
            self = .ids(ids)
        } else {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self = .fromTrainingData(minCount: try c.decode(Int.self, forKey: .minCount))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .ids(let ids):
            var c = encoder.singleValueContainer()
            try c.encode(ids)
        case .fromTrainingData(let minCount):
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(minCount, forKey: .minCount)
        }
    }
}

/// A built vocabulary as the encoder searches it: the ids' XXH64 hashes (the canonical bytes `FeatureHash` hashes)
/// sorted, beside their rows. A binary search per id: no allocation on the request path.
struct VocabularyIndex: Sendable {
    private let hashes: [UInt64]
    private let rows: [Int32]

    /// Nil when two ids share a hash (then the vocabulary cannot tell them apart).
    init?(ids: [String], seed: UInt64) {
        let entries = ids.enumerated().map { position, id in
            (hash: FeatureHash.xxh64(Array(id.utf8), seed: seed), row: Int32(Vocabulary.firstIDRow + position))
        }.sorted { $0.hash < $1.hash }
        if zip(entries, entries.dropFirst()).contains(where: { $0.hash == $1.hash }) { return nil }
        hashes = entries.map(\.hash)
        rows = entries.map(\.row)
    }

    func row(ofHash hash: UInt64) -> Int32 {
        var low = 0
        var high = hashes.count
        while low < high {
            let middle = (low + high) / 2
            if hashes[middle] < hash { low = middle + 1 } else { high = middle }
        }
        return low < hashes.count && hashes[low] == hash ? rows[low] : Vocabulary.outOfVocabularyRow
    }
}
