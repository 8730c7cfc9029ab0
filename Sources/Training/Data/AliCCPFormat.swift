import Ranking

/// The torch-rechub Ali-CCP CSV (`examples/ranking/data/ali-ccp`): header
/// `click,purchase,101,121,…,301,109_14,…,D109_14,…,D853` with label-encoded ids and min-max scaled dense
/// columns (docs/MODELS.md §1). Groups follow the field dictionary, not torch-rechub's example (which puts the
/// user geography 129 with the items): user fields and user histories → user, 301 → context, item fields
/// and the user×item crosses (508/509/702/853 and their D columns) → item. No timestamps, so every label is
/// mature and the delay term reduces to ESMM.
public enum AliCCPFormat {
    public static let userFields = ["101", "121", "122", "124", "125", "126", "127", "128", "129"]
    public static let userHistoryFields = ["109_14", "110_14", "127_14", "150_14"]
    public static let itemFields = ["205", "206", "207", "210", "216"]
    public static let crossFields = ["508", "509", "702", "853"]
    public static let contextFields = ["301"]

    /// Embedding rows for the small-vocabulary fields; the others get `buckets`.
    static let smallVocabularies: [String: Int] = [
        "121": 128, "122": 16, "124": 4, "125": 16, "126": 8, "127": 8, "128": 4, "129": 8, "301": 4,
    ]

    /// The schema for that CSV. `crossesArePrivileged` withholds the user×item crosses from the student
    /// (PFD's "interacted features" emulation of privileged features, docs/MODELS.md §1).
    public static func schema(
        buckets: Int = 100_000, dimension: Int = 8, crossesArePrivileged: Bool = false, hashSeed: UInt64 = 20_180_706
    ) -> TrainingSchema {
        var fields: [FieldSpec] = []
        func categorical(_ name: String, _ group: FeatureGroup) {
            fields.append(
                FieldSpec(
                    name: name, group: group, kind: .categorical(buckets: smallVocabularies[name] ?? buckets),
                    dimension: dimension))
        }
        func dense(_ name: String, _ group: FeatureGroup) {
            fields.append(FieldSpec(name: name, group: group, kind: .numeric(.identity), dimension: 1))
        }
        let crossGroup: FeatureGroup = crossesArePrivileged ? .privileged : .item
        for name in userFields + userHistoryFields { categorical(name, .user) }
        for name in contextFields { categorical(name, .context) }
        for name in itemFields { categorical(name, .item) }
        for name in crossFields { categorical(name, crossGroup) }
        for name in userHistoryFields { dense("D" + name, .user) }
        for name in crossFields { dense("D" + name, crossGroup) }
        return TrainingSchema(
            features: FeatureSpec(hashSeed: hashSeed, fields: fields),
            labels: LabelColumns(click: "click", conversion: "purchase"))
    }
}
