/// What the reader does with a bad row (wrong column count, unparsable number, label not 0/1, a
/// conversion without a click, a value the feature spec rejects).
public enum BadRowPolicy: String, Codable, Sendable, CaseIterable {
    /// Stop at the first bad row with its `DataError`.
    case fail
    /// Drop the row, count it, and keep the first few errors for the report.
    case skip
}
