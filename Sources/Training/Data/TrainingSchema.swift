import FoundationEssentials
import Ranking

/// How a CSV file with a header becomes training rows: which column feeds which feature (by `FieldSpec`,
/// group included) and which columns hold the labels. JSON form documented in docs/TRAINING.md:
///
///     {"features": {"hash_seed": 1, "fields": [...]},
///      "columns": {"user_id": "uid"},
///      "labels": {"click": "click", "conversion": "purchase", "click_time": "t_click", ...},
///      "list_separator": "|", "weight_separator": ":", "time_unit": "seconds",
///      "delay": {"attribution_window_hours": 168, "bucket_bounds_hours": [1, 6, 24, 48, 72, 120, 168]}}
public struct TrainingSchema: EveryKeyOptional, Sendable, Equatable {
    /// Serving fields (user, context, item) and privileged fields; the student's checkpoint gets the former.
    public var features: FeatureSpec
    /// Field name → CSV column name, for fields whose column is not named like the field.
    public var columns: [String: String]
    public var labels: LabelColumns
    /// Separates the ids of a multi-categorical cell: `a|b|c`.
    public var listSeparator: String
    /// Separates an id from its weight inside a multi-categorical cell: `a:2|b:0.5`.
    public var weightSeparator: String
    public var delay: DelayBuckets
    /// The unit of the time columns (hours unless said otherwise); delays and windows are always in hours.
    public var timeUnit: TimeUnit
    /// Continuous numeric fields to bucketize at the quantiles of the training data (`resolvingQuantileBuckets`).
    public var quantileBuckets: [String: QuantileBuckets]
    /// Cross fields to add from the training data (`resolvingCrosses`): `"auto"` when a JSON schema does not say;
    /// none for a schema built in code.
    public var crosses: CrossSelection

    public init(
        features: FeatureSpec, columns: [String: String] = [:], labels: LabelColumns,
        listSeparator: String = "|", weightSeparator: String = ":", delay: DelayBuckets = DelayBuckets(),
        timeUnit: TimeUnit = .hours, quantileBuckets: [String: QuantileBuckets] = [:], crosses: CrossSelection = .none
    ) {
        self.features = features
        self.columns = columns
        self.labels = labels
        self.listSeparator = listSeparator
        self.weightSeparator = weightSeparator
        self.delay = delay
        self.timeUnit = timeUnit
        self.quantileBuckets = quantileBuckets
        self.crosses = crosses
    }

    /// What a schema file's missing keys mean: no fields and no label columns (both required, which `validate`
    /// says), crosses chosen from the data.
    public init() {
        self.init(features: FeatureSpec(fields: []), labels: LabelColumns(click: "", conversion: ""), crosses: .auto)
    }

    /// Whether the labels carry the times delay modelling needs: when the labels were read, and when each click was.
    public var hasDelayTimes: Bool { labels.snapshotTime != nil && labels.clickTime != nil }

    /// The CSV column that feeds `field`.
    public func column(of field: FieldSpec) -> String { columns[field.name] ?? field.name }

    /// The feature spec a serving checkpoint may carry: every field but the privileged ones.
    public var servingFeatures: FeatureSpec {
        FeatureSpec(hashSeed: features.hashSeed, fields: features.fields.filter { $0.group != .privileged })
    }

    public func validate() throws(SpecError) {
        guard !features.fields.isEmpty else { throw SpecError("features.fields is required and must not be empty") }
        guard !labels.click.isEmpty, !labels.conversion.isEmpty else {
            throw SpecError("labels.click and labels.conversion are required")
        }
        try features.validate()
        let names = Set(features.fields.map(\.name))
        if let stray = columns.keys.sorted().first(where: { !names.contains($0) }) {
            throw SpecError("schema maps a column to '\(stray)', which is not a feature field")
        }
        guard listSeparator.utf8.count == 1, weightSeparator.utf8.count == 1, listSeparator != weightSeparator,
            listSeparator != ",", weightSeparator != ","
        else { throw SpecError("list_separator and weight_separator must be distinct single bytes other than ','") }
        try delay.validate()
        for (name, rule) in quantileBuckets.sorted(by: { $0.key < $1.key }) {
            guard let field = features.fields.first(where: { $0.name == name }), field.isContinuous else {
                throw SpecError("quantile_buckets names '\(name)', which is not a continuous numeric field")
            }
            guard (2...1024).contains(rule.buckets), (1...4096).contains(rule.dimension) else {
                throw SpecError("quantile_buckets '\(name)': buckets in 2...1024 and dimension in 1...4096")
            }
        }
        if case .pairs(let pairs) = crosses {
            for components in pairs {
                guard components.count >= 2, Set(components).count == components.count else {
                    throw SpecError("crosses: \(components) must name two or more distinct fields")
                }
                for name in components {
                    guard let field = features.fields.first(where: { $0.name == name }), case .categorical = field.kind
                    else { throw SpecError("crosses: '\(name)' is not a categorical field") }
                }
            }
        }
    }

    public static func load(path: String) throws -> TrainingSchema {
        let schema: TrainingSchema
        do {
            schema = try StrictJSON.decode(TrainingSchema.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw DataError(file: path, line: 0, column: nil, message: "cannot read schema: \(error)")
        }
        do {
            try schema.validate()
        } catch {
            throw DataError(file: path, line: 0, column: nil, message: "invalid schema: \(error.description)")
        }
        return schema
    }

    public func write(path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }

    private enum CodingKeys: String, CodingKey {
        case features, columns, labels, delay
        case timeUnit = "time_unit"
        case quantileBuckets = "quantile_buckets"
        case crosses
        case listSeparator = "list_separator"
        case weightSeparator = "weight_separator"
    }
}
