import FoundationEssentials

/// Peers' figures from a quality benchmark result (`scripts/bench_quality.py --json`, by default
/// OUT/results.json): per world, each row's figures averaged over its seeds, to set beside this report's model.
/// The file's shape: `{"worlds": {world: {"simulate_flags": [...], "rows": {label: {seed: {key: value}}}}}}`,
/// keys as `columns` below (non-numeric values such as per-epoch score lists are ignored).
public struct BenchmarkComparison: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public var label: String
        public var seeds: Int
        /// Mean over the seeds that have the figure, by key.
        public var figures: [String: Double]
    }

    public struct World: Sendable, Equatable {
        public var name: String
        public var simulateFlags: [String]?
        public var rows: [Row]
    }

    public var source: String
    public var worlds: [World]

    /// The benchmark's table columns (scripts/bench_quality.py's COLUMNS): key, header, digits.
    public static let columns: [(key: String, header: String, digits: Int)] = [
        ("ctr_auc", "CTR AUC", 4), ("ctcvr_auc", "CTCVR AUC", 4), ("cvr_auc", "CVR AUC (clicks)", 4),
        ("es_cvr_auc", "entire-space CVR AUC", 4), ("ctr_logloss", "CTR logloss", 4), ("cvr_logloss", "CVR logloss", 4),
        ("ctcvr_logloss", "CTCVR logloss", 5), ("ctr_pcoc", "CTR PCOC", 3), ("cvr_pcoc", "CVR PCOC", 3),
        ("ctcvr_pcoc", "CTCVR PCOC", 3),
    ]

    public static func load(path: String) throws -> BenchmarkComparison {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DataError(file: path, line: 0, column: nil, message: "cannot read benchmark results: \(error)")
        }
        return try parse(bytes, source: path)
    }

    static func parse(_ bytes: Data, source: String) throws -> BenchmarkComparison {
        let file: ResultsFile
        do {
            file = try JSONDecoder().decode(ResultsFile.self, from: bytes)
        } catch {
            throw DataError(
                file: source, line: 0, column: nil,
                message: "not a scripts/bench_quality.py result (expected {\"worlds\": …}): \(error)")
        }
        let worlds = file.worlds.keys.sorted().map { name in
            let world = file.worlds[name]!
            // Rows in the benchmark's own order are lost in a JSON object; Funnel's rows first, then by label.
            let labels = world.rows.keys.sorted {
                ($0.hasPrefix("Funnel") ? 0 : 1, $0) < ($1.hasPrefix("Funnel") ? 0 : 1, $1)
            }
            let rows = labels.map { label in
                let seeds = world.rows[label]!.values
                var figures: [String: Double] = [:]
                for (key, _, _) in columns {
                    let values = seeds.compactMap { $0[key]?.value }
                    if !values.isEmpty { figures[key] = values.reduce(0, +) / Double(values.count) }
                }
                return Row(label: label, seeds: seeds.count, figures: figures)
            }
            return World(name: name, simulateFlags: world.simulateFlags, rows: rows)
        }
        return BenchmarkComparison(source: source, worlds: worlds)
    }

    private struct ResultsFile: Decodable {
        var worlds: [String: WorldEntry]
    }

    private struct WorldEntry: Decodable {
        var simulateFlags: [String]?
        var rows: [String: [String: [String: Figure]]]

        private enum CodingKeys: String, CodingKey {
            case rows
            case simulateFlags = "simulate_flags"
        }
    }

    /// A number, or nil for null and anything else (lists, strings).
    private struct Figure: Decodable {
        var value: Double?

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            value = try? container.decode(Double.self)
        }
    }
}

extension EvaluationReport {
    /// This report's figures under the benchmark's keys (scripts/bench_quality.py's `flatten`).
    public var benchmarkFigures: [String: Double] {
        var figures: [String: Double] = [:]
        for (name, task) in [("ctr", ctr), ("cvr", cvr), ("ctcvr", ctcvr)] {
            if let auc = task.auc { figures[name + "_auc"] = auc }
            if let logLoss = task.logLoss { figures[name + "_logloss"] = logLoss }
            if let pcoc = task.pcoc { figures[name + "_pcoc"] = pcoc }
        }
        if let auc = entireSpaceCVR?.auc { figures["es_cvr_auc"] = auc }
        return figures
    }
}
