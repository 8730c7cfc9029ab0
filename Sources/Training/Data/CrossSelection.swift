import Ranking

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which user × item crosses (`FeatureKind.cross`) the trainer adds to a schema (schema key `"crosses"`):
/// `"auto"` (the default) picks them from the training data, `"none"` adds none, and a list such as
/// `[["user_segment", "item_category"]]` names them.
///
/// Why: a network fed the sum of a segment's and a category's embeddings needs many steps to learn an effect
/// that belongs to the pair alone, and a one-epoch trainer does not get them. A cross gives the pair its own row.
public enum CrossSelection: Sendable, Equatable {
    case auto
    case none
    case pairs([[String]])
}

extension CrossSelection: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let word = try? container.decode(String.self) {
            switch word {
            case "auto": self = .auto
            case "none": self = .none
            default:
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "crosses must be \"auto\", \"none\" or a list of field-name lists")
            }
        } else {
            self = .pairs(try container.decode([[String]].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .auto: try container.encode("auto")
        case .none: try container.encode("none")
        case .pairs(let pairs): try container.encode(pairs)
        }
    }
}

/// The held-out test behind `"crosses": "auto"` (in the spirit of AutoCross, Luo et al., KDD 2019, with counts in
/// place of a trained model). For a user or context field a and an item field b with few enough combinations,
/// the training rows are split in two halves by request. On each half two models of the click label, and of the
/// purchase label over all impressions, are fitted from the (a, b) counts alone:
/// - additive: logit = μ + α_a + β_b (ridge-penalised Newton sweeps);
/// - crossed: the additive logit plus a shrunk residual per pair,
///   γ_ab = (y_ab − n_ab p_ab) / (n_ab p_ab (1 − p_ab) + λ).
/// The gain is the crossed model's log-likelihood over the additive one's on the *other* half, per impression. A
/// pair whose effect is the sum of its fields' effects gains nothing there (the shrunk residuals are noise), so only
/// pairs that interact are crossed: those whose gain exceeds `minimumGain`, at most `maximumCrosses`, largest first.
public struct CrossSearch: Sendable {
    /// Held-out nats per impression, clicks and purchases summed, that a cross must add.
    public var minimumGain = 2e-4
    public var maximumCrosses = 6
    /// Pairs whose fields' distinct values in the training data multiply to more are not considered.
    public var maximumCombinations = 100_000
    /// Ridge strength of the per-pair residuals (in impressions' worth of evidence) and of the additive effects.
    public var residualShrinkage = 20.0
    public var effectShrinkage = 1.0

    public init() {}

    /// A considered pair and its held-out gain.
    public struct Candidate: Sendable, CustomStringConvertible {
        public let shared: String
        public let item: String
        public let combinations: Int
        public let gain: Double
        public var description: String {
            "\(shared) × \(item): \(combinations) combinations, "
                + "held-out gain \((gain * 1e5).rounded() / 1e5) nats/impression"
        }
    }

    /// Counts of one pair: per combination (of the two ids' hashes) and half, impressions, clicks and purchases:
    /// lanes [n₀, clicks₀, buys₀, n₁, clicks₁, buys₁, –, –].
    private struct PairCounts {
        var cells: [Key: SIMD8<Double>] = [:]
        struct Key: Hashable {
            let a: UInt64
            let b: UInt64
        }
    }

    /// Scores every eligible (user or context) × item pair of categorical fields of `schema` on `file`.
    public func candidates(schema: TrainingSchema, file: String) throws(DataError) -> [Candidate] {
        let fields = schema.features.fields
        func categorical(_ field: Int) -> Bool {
            if case .categorical = fields[field].kind { return true }
            return false
        }
        let shared = fields.indices.filter { [.user, .context].contains(fields[$0].group) && categorical($0) }
        let items = fields.indices.filter { fields[$0].group == .item && categorical($0) }
        guard !shared.isEmpty, !items.isEmpty else { return [] }
        let cardinality = try distinctValues(of: shared + items, schema: schema, file: file)
        var pairs: [(a: Int, b: Int)] = []
        for a in shared {
            for b in items where cardinality[a] * cardinality[b] <= maximumCombinations { pairs.append((a, b)) }
        }
        guard !pairs.isEmpty else { return [] }
        var counts = Array(repeating: PairCounts(), count: pairs.count)
        let scanned = Array(Set(pairs.flatMap { [$0.a, $0.b] })).sorted()
        try scan(schema: schema, file: file, fields: scanned) { ids, half, click, buy in
            var tally = SIMD8<Double>()
            tally[3 * half] = 1
            tally[3 * half + 1] = click
            tally[3 * half + 2] = buy
            for (index, pair) in pairs.enumerated() {
                counts[index].cells[PairCounts.Key(a: ids[pair.a], b: ids[pair.b]), default: SIMD8()] += tally
            }
        }
        return zip(pairs, counts).map { pair, counts in
            Candidate(
                shared: fields[pair.a].name, item: fields[pair.b].name, combinations: counts.cells.count,
                gain: heldOutGain(counts))
        }
    }

    /// The pairs `"auto"` crosses, from `candidates`.
    public func chosen(_ candidates: [Candidate]) -> [Candidate] {
        Array(candidates.filter { $0.gain > minimumGain }.sorted { $0.gain > $1.gain }.prefix(maximumCrosses))
    }

    private func heldOutGain(_ counts: PairCounts) -> Double {
        let cells = Array(counts.cells.values)
        var gain = 0.0
        var impressions = 0.0
        let keys = Array(counts.cells.keys)
        for fit in 0..<2 {
            let test = 1 - fit
            for label in 1...2 {
                let n = cells.map { $0[3 * fit] }, y = cells.map { $0[3 * fit + label] }
                let additive = additiveLogits(keys: keys, n: n, y: y)
                for (cell, logit) in zip(cells, additive) {
                    let (p, n, y) = (LogisticMath.sigmoid(logit), cell[3 * fit], cell[3 * fit + label])
                    let residual = (y - n * p) / (n * p * (1 - p) + residualShrinkage)
                    let (m, k) = (cell[3 * test], cell[3 * test + label])
                    gain += k * (LogisticMath.logSigmoid(logit + residual) - LogisticMath.logSigmoid(logit))
                    gain += (m - k) * (LogisticMath.logSigmoid(-logit - residual) - LogisticMath.logSigmoid(-logit))
                }
            }
            impressions += cells.reduce(0) { $0 + $1[3 * test] }
        }
        return impressions > 0 ? gain / impressions : 0
    }

    /// μ + α_a + β_b per cell, fitted to (n, y) by alternating ridge-penalised Newton steps.
    private func additiveLogits(keys: [PairCounts.Key], n: [Double], y: [Double]) -> [Double] {
        let total = n.reduce(0, +), positives = y.reduce(0, +)
        let base = log(max(positives, 0.5) / max(total - positives, 0.5))
        var alpha: [UInt64: Double] = [:], beta: [UInt64: Double] = [:]
        func logit(_ cell: Int) -> Double { base + alpha[keys[cell].a, default: 0] + beta[keys[cell].b, default: 0] }
        for _ in 0..<8 {
            for side in 0..<2 {
                var gradient: [UInt64: Double] = [:], curvature: [UInt64: Double] = [:]
                for cell in keys.indices {
                    let level = side == 0 ? keys[cell].a : keys[cell].b
                    let p = LogisticMath.sigmoid(logit(cell))
                    gradient[level, default: 0] += y[cell] - n[cell] * p
                    curvature[level, default: 0] += n[cell] * p * (1 - p)
                }
                for (level, g) in gradient {
                    let current = side == 0 ? alpha[level, default: 0] : beta[level, default: 0]
                    let step = (g - effectShrinkage * current) / (curvature[level]! + effectShrinkage)
                    if side == 0 { alpha[level] = current + step } else { beta[level] = current + step }
                }
            }
        }
        return keys.indices.map(logit)
    }

    /// Distinct values of each field in `fields` (capped just above `maximumCombinations`), by field index.
    private func distinctValues(of fields: [Int], schema: TrainingSchema, file: String) throws(DataError) -> [Int] {
        var seen = Array(repeating: Set<UInt64>(), count: schema.features.fields.count)
        try scan(schema: schema, file: file, fields: fields) { ids, _, _, _ in
            for field in fields where seen[field].count <= maximumCombinations { seen[field].insert(ids[field]) }
        }
        return seen.map(\.count)
    }

    /// Distinct combinations of each list of field names in `pairs`, in `file`.
    public func combinations(of pairs: [[String]], schema: TrainingSchema, file: String) throws(DataError) -> [Int] {
        let fields = pairs.map { $0.compactMap { name in schema.features.fields.firstIndex { $0.name == name } } }
        var seen = Array(repeating: Set<[UInt64]>(), count: pairs.count)
        try scan(schema: schema, file: file, fields: Array(Set(fields.joined())).sorted()) { ids, _, _, _ in
            for (index, components) in fields.enumerated() { seen[index].insert(components.map { ids[$0] }) }
        }
        return seen.map(\.count)
    }

    /// Calls `body` per row with the hashed ids of `fields` (indexed by field; 0 elsewhere), the row's half (by
    /// request id, or by row when the schema has none) and its click and purchase labels.
    private func scan(
        schema: TrainingSchema, file: String, fields: [Int],
        _ body: (_ ids: [UInt64], _ half: Int, _ click: Double, _ buy: Double) -> Void
    ) throws(DataError) {
        let csv = try CSVReader(path: file)
        func column(_ name: String) throws(DataError) -> Int {
            guard let index = csv.header.firstIndex(of: name) else {
                throw DataError(file: file, line: 1, column: nil, message: "no column '\(name)' in the header")
            }
            return index
        }
        var columns: [(field: Int, column: Int)] = []
        for field in fields { columns.append((field, try column(schema.column(of: schema.features.fields[field])))) }
        let click = try column(schema.labels.click), buy = try column(schema.labels.conversion)
        let request = try schema.labels.requestID.map { name throws(DataError) in try column(name) }
        var row = 0
        var ids = [UInt64](repeating: 0, count: schema.features.fields.count)
        while let cells = try csv.next() {
            row += 1
            guard cells.count == csv.header.count else { continue }  // the reader proper reports bad rows
            for (field, index) in columns { ids[field] = FeatureHash.xxh64(Array(cells[index].utf8), seed: 0) }
            let key = request.map { FeatureHash.xxh64(Array(cells[$0].utf8), seed: 0x5E1EC7) } ?? UInt64(row)
            let half = Int(key & 1)
            body(ids, half, cells[click].hasPrefix("1") ? 1 : 0, cells[buy].hasPrefix("1") ? 1 : 0)
        }
    }
}

extension TrainingSchema {
    /// The schema with the crosses `crosses` asks for appended as item (or shared) fields, each hashed into 8 rows per
    /// combination seen in `file` (few collisions); `crosses` becomes `.none`. Prints what `"auto"` considered.
    public func resolvingCrosses(
        file: String, search: CrossSearch = CrossSearch(), log: (String) -> Void = { _ in }
    ) throws(DataError) -> TrainingSchema {
        var pairs: [[String]]
        var combinations: [String: Int] = [:]
        switch crosses {
        case .none:
            return self
        case .pairs(let named):
            pairs = named
            let counts = try search.combinations(of: named, schema: self, file: file)
            for (components, count) in zip(named, counts) { combinations[components.joined(separator: "_x_")] = count }
        case .auto:
            let candidates = try search.candidates(schema: self, file: file)
            for candidate in candidates.sorted(by: { $0.gain > $1.gain }) { log("  considered \(candidate)") }
            let chosen = search.chosen(candidates)
            for candidate in chosen { combinations["\(candidate.shared)_x_\(candidate.item)"] = candidate.combinations }
            pairs = chosen.map { [$0.shared, $0.item] }
            let names = pairs.map { $0.joined(separator: " × ") }
            log(names.isEmpty ? "crosses: none interact" : "crosses: " + names.joined(separator: ", "))
        }
        var resolved = self
        resolved.crosses = .none
        for components in pairs {
            let name = components.joined(separator: "_x_")
            guard !features.fields.contains(where: { $0.name == name }) else { continue }
            let rows = min(8 * max(combinations[name] ?? 0, 8) + 1, 1 << 22)
            resolved.features.fields.append(
                FieldSpec(
                    name: name, group: features.crossGroups(of: components)[0],
                    kind: .cross(of: components, buckets: rows), dimension: 4))
        }
        return resolved
    }
}
