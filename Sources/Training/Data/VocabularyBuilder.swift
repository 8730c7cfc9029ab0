import Ranking

extension TrainingSchema {
    /// The schema with every vocabulary still to build (`Vocabulary.fromTrainingData`) built from `file`: the ids
    /// seen at least `min_count` times, most frequent first (ties by id), so the table's first rows are its busiest.
    /// The rarer ids share the out-of-vocabulary row, which so learns what an unseen id is worth at serving time.
    /// A schema without such fields comes back unchanged. `log` gets one line per field.
    public func resolvingVocabularies(
        file: String, log: (String) -> Void = { _ in }
    ) throws(DataError) -> TrainingSchema {
        let targets = features.fields.indices.filter { features.fields[$0].vocabularyToBuild }
        guard !targets.isEmpty else { return self }
        let csv = try CSVReader(path: file)
        var columns: [Int] = []
        for field in targets {
            let name = column(of: features.fields[field])
            guard let index = csv.header.firstIndex(of: name) else {
                throw DataError(file: file, line: 1, column: nil, message: "no column '\(name)' in the header")
            }
            columns.append(index)
        }
        let separator = Character(listSeparator), weightMark = Character(weightSeparator)
        var counts = Array(repeating: [Substring: Int](), count: targets.count)
        while let cells = try csv.next() {
            guard cells.count == csv.header.count else { continue }  // the reader proper reports bad rows
            for (target, field) in targets.enumerated() {
                let cell = cells[columns[target]][...]
                guard !cell.isEmpty else { continue }
                if case .multiCategorical = features.fields[field].kind {
                    for piece in cell.split(separator: separator) {
                        counts[target][piece.split(separator: weightMark, maxSplits: 1).first ?? piece, default: 0] += 1
                    }
                } else {
                    counts[target][cell, default: 0] += 1
                }
            }
        }
        var resolved = self
        for (target, field) in targets.enumerated() {
            guard case .fromTrainingData(let minCount) = features.fields[field].vocabulary else { continue }
            let ids = counts[target].filter { $0.value >= minCount }
                .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { String($0.key) }
            resolved.features.fields[field].vocabulary = .ids(ids)
            let rows = ids.count + Vocabulary.firstIDRow
            switch features.fields[field].kind {
            case .multiCategorical(_, let pooling, let maxValues):
                resolved.features.fields[field].kind = .multiCategorical(
                    buckets: rows, pooling: pooling, maxValues: maxValues)
            default:
                resolved.features.fields[field].kind = .categorical(buckets: rows)
            }
            log(
                "vocabulary \(features.fields[field].name): \(ids.count) of \(counts[target].count) ids "
                    + "(seen ≥ \(minCount) times)")
        }
        return resolved
    }
}
