import FoundationEssentials

/// A type people write as JSON with every key optional: a key the file leaves out keeps the value `init()` gives
/// it, at any depth (a nested object of this kind is filled key by key too). The type's own `Codable` is the
/// synthesized one; its `CodingKeys` name the keys.
public protocol EveryKeyOptional: Codable {
    init()
}

/// Decoding for the files people write by hand (schemas, training and daemon configurations, model specs): a key
/// the type does not know is an error naming it, so a misspelt key never silently keeps its default.
///
/// One rule for every type, without a list of keys per type:
/// - for an `EveryKeyOptional` type, the file's object is laid over the encoding of `init()` (objects merge key by
///   key, anything else is replaced), so missing keys take their defaults before the synthesized decoding runs;
/// - the value is then encoded back (which writes every key the type knows), and each key of the input must appear
///   at the same place in that encoding. A key whose value is null is accepted: it keeps the key's default (an
///   optional left unset encodes as nothing).
public enum StrictJSON {
    public static func decode<T: Codable>(_ type: T.Type, from data: Data) throws -> T {
        try checked(JSONDecoder().decode(T.self, from: data), given: JSONDecoder().decode(Tree.self, from: data))
    }

    public static func decode<T: EveryKeyOptional>(_ type: T.Type, from data: Data) throws -> T {
        let given = try JSONDecoder().decode(Tree.self, from: data)
        return try checked(filled(T.self, given), given: given)
    }

    /// Fills the keys `data` leaves out with `init()`'s values, without the unknown-key check: for files the
    /// program wrote itself (training state), where a key an older version did not know must still load.
    public static func filled<T: EveryKeyOptional>(_ type: T.Type, from data: Data) throws -> T {
        try filled(T.self, JSONDecoder().decode(Tree.self, from: data))
    }

    private static func filled<T: EveryKeyOptional>(_ type: T.Type, _ given: Tree) throws -> T {
        let defaults = try JSONDecoder().decode(Tree.self, from: JSONEncoder().encode(T()))
        return try JSONDecoder().decode(T.self, from: JSONEncoder().encode(defaults.overlaid(with: given)))
    }

    private static func checked<T: Encodable>(_ value: T, given: Tree) throws -> T {
        let known = try JSONDecoder().decode(Tree.self, from: JSONEncoder().encode(value))
        if let path = given.firstUnknownKey(comparedWith: known, path: "") {
            throw SpecError("unknown key \"\(path)\"")
        }
        return value
    }

    /// A JSON document as written: integers stay exact (seeds are 64-bit), so a value survives a round trip.
    private enum Tree: Codable {
        case object([String: Tree])
        case array([Tree])
        case string(String)
        case bool(Bool)
        case integer(Int64)
        case unsigned(UInt64)
        case number(Double)
        case null

        init(from decoder: any Decoder) throws {
            if let object = try? decoder.container(keyedBy: Key.self) {
                var members: [String: Tree] = [:]
                for key in object.allKeys { members[key.stringValue] = try object.decode(Tree.self, forKey: key) }
                self = .object(members)
            } else if var array = try? decoder.unkeyedContainer() {
                var elements: [Tree] = []
                while !array.isAtEnd { elements.append(try array.decode(Tree.self)) }
                self = .array(elements)
            } else {
                let value = try decoder.singleValueContainer()
                if value.decodeNil() {
                    self = .null
                } else if let bool = try? value.decode(Bool.self) {
                    self = .bool(bool)
                } else if let integer = try? value.decode(Int64.self) {
                    self = .integer(integer)
                } else if let unsigned = try? value.decode(UInt64.self) {
                    self = .unsigned(unsigned)
                } else if let number = try? value.decode(Double.self) {
                    self = .number(number)
                } else {
                    self = .string(try value.decode(String.self))
                }
            }
        }

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .object(let members):
                var container = encoder.container(keyedBy: Key.self)
                for (key, member) in members { try container.encode(member, forKey: Key(stringValue: key)) }
            case .array(let elements):
                var container = encoder.unkeyedContainer()
                for element in elements { try container.encode(element) }
            case .string(let string):
                var container = encoder.singleValueContainer()
                try container.encode(string)
            case .bool(let bool):
                var container = encoder.singleValueContainer()
                try container.encode(bool)
            case .integer(let integer):
                var container = encoder.singleValueContainer()
                try container.encode(integer)
            case .unsigned(let unsigned):
                var container = encoder.singleValueContainer()
                try container.encode(unsigned)
            case .number(let number):
                var container = encoder.singleValueContainer()
                try container.encode(number)
            case .null:
                var container = encoder.singleValueContainer()
                try container.encodeNil()
            }
        }

        /// `given` laid over `self`: objects merge key by key, any other value of `given` replaces `self`'s, and a
        /// null keeps the default (as a missing key does; an optional without a default stays unset).
        func overlaid(with given: Tree) -> Tree {
            guard case .object(var members) = self, case .object(let overlay) = given else { return given }
            for (key, value) in overlay {
                if case .null = value, members[key] != nil { continue }
                members[key] = members[key].map { $0.overlaid(with: value) } ?? value
            }
            return .object(members)
        }

        /// The dotted path of the first key in `self` that `known` lacks.
        func firstUnknownKey(comparedWith known: Tree, path: String) -> String? {
            switch (self, known) {
            case (.object(let given), .object(let expected)):
                for key in given.keys.sorted() {
                    let place = path.isEmpty ? key : "\(path).\(key)"
                    guard let member = expected[key] else {
                        if case .null = given[key]! { continue }
                        return place
                    }
                    if let unknown = given[key]!.firstUnknownKey(comparedWith: member, path: place) { return unknown }
                }
            case (.array(let given), .array(let expected)):
                for (index, element) in zip(given, expected).enumerated() {
                    if let unknown = element.0.firstUnknownKey(comparedWith: element.1, path: "\(path)[\(index)]") {
                        return unknown
                    }
                }
            default:
                break
            }
            return nil
        }
    }

    private struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
