import FoundationEssentials

/// Decoding for the files people write by hand (schemas, training and daemon configurations, model specs): a key
/// the type does not know is an error naming it, so a misspelt key never silently keeps its default.
///
/// One rule for every type, without a list of keys per type: the value is decoded as usual, encoded back (which
/// writes every key the type knows), and each key of the input must appear at the same place in that encoding.
/// A key whose value is null is accepted (an optional left unset encodes as nothing).
public enum StrictJSON {
    public static func decode<T: Codable>(_ type: T.Type, from data: Data) throws -> T {
        let value = try JSONDecoder().decode(T.self, from: data)
        let known = try JSONDecoder().decode(Tree.self, from: JSONEncoder().encode(value))
        let given = try JSONDecoder().decode(Tree.self, from: data)
        if let path = given.firstUnknownKey(comparedWith: known, path: "") {
            throw SpecError("unknown key \"\(path)\"")
        }
        return value
    }

    /// The shape of a JSON document: objects and arrays, leaves reduced to null or not.
    private enum Tree: Decodable {
        case object([String: Tree])
        case array([Tree])
        case null
        case leaf

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
                self = try decoder.singleValueContainer().decodeNil() ? .null : .leaf
            }
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
