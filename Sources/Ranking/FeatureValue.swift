/// A raw feature value as a client or a data file gives it, before `FeatureEncoder` turns it into numbers.
public enum FeatureValue: Sendable, Equatable {
    case missing
    case int(Int64)
    case double(Double)
    case string(String)
    /// Ids of a multi-valued field, each with weight 1.
    case list([FeatureValue])
    /// Ids of a multi-valued field with their weights (counts, scores).
    case weighted([WeightedID])
}

public struct WeightedID: Sendable, Equatable {
    public var id: FeatureValue
    public var weight: Double

    public init(id: FeatureValue, weight: Double) {
        self.id = id
        self.weight = weight
    }
}

/// Why a value could not be encoded; always names the field.
public struct FeatureEncodingError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case missingRequired
        case wrongType(expected: String)
        case nonFinite
        case unknownField
    }

    public var field: String
    public var reason: Reason

    public init(field: String, reason: Reason) {
        self.field = field
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .missingRequired: "feature '\(field)' is required but missing"
        case .wrongType(let expected): "feature '\(field)' must be \(expected)"
        case .nonFinite: "feature '\(field)' must be a finite number"
        case .unknownField: "unknown feature '\(field)'"
        }
    }
}
