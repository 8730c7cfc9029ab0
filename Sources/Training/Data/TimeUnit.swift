import FoundationEssentials

/// The unit of the schema's time columns (`"time_unit"`); the trainer works in hours. A cell may also be an ISO-8601
/// date and time (`2024-05-01T12:30:00Z`), whatever the unit.
public enum TimeUnit: String, Codable, Sendable, CaseIterable {
    case hours, seconds, milliseconds

    var hoursPerUnit: Double {
        switch self {
        case .hours: 1
        case .seconds: 1.0 / 3600
        case .milliseconds: 1.0 / 3_600_000
        }
    }

    /// A time cell in hours (on the log's own clock, or since 1970 for ISO-8601 cells); nil if it is neither a finite
    /// number nor an ISO-8601 date.
    func hours(_ cell: String) -> Double? {
        if let value = Double(cell) { return value.isFinite ? value * hoursPerUnit : nil }
        guard
            let date = (try? Date(cell, strategy: Self.iso8601))
                ?? (try? Date(cell, strategy: Self.iso8601Fractional))
        else { return nil }
        return date.timeIntervalSince1970 / 3600
    }

    private static let iso8601 = Date.ISO8601FormatStyle()
    private static let iso8601Fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
