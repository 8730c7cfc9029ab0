import Testing

@testable import Scoring

struct JSONParserTests {
    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func parsesDocuments() throws {
        #expect(
            try parse(#" {"a": [1, -2.5e3, "x\u00e9\n", true, false, null], "b": {}} "#)
                == .object([
                    ("a", .array([.int(1), .double(-2500), .string("x\u{e9}\n"), .bool(true), .bool(false), .null])),
                    ("b", .object([])),
                ]))
        #expect(try parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try parse("12345678901234567890") == .double(Double("12345678901234567890")!))  // beyond Int64
        #expect(try parse("-0") == .int(0))
    }

    static let invalid: [(String, String)] = [
        ("", "unexpected end of JSON"), ("{", "expected a string key"), (#"{"a":1,}"#, "expected a string key"),
        ("[1,]", "unexpected character"), (#"{"a":1,"a":2}"#, "duplicate key \"a\""), ("NaN", "unexpected character"),
        ("Infinity", "unexpected character"), ("-Infinity", "invalid number"), ("1e400", "number out of range"),
        ("01", "leading zero in a number"), ("1.", "invalid number"), (#""\ud800""#, "unpaired surrogate"),
        (#""a"#, "unterminated string"), ("[1] x", "unexpected data after the JSON value"), ("tru", "invalid literal"),
        ("\"\u{01}\"", "control character in a string"), (#"// c"#, "unexpected character"),
    ]

    @Test(arguments: invalid)
    func rejectsInvalidJSON(input: String, message: String) {
        do {
            _ = try JSONParser.parse(Array(input.utf8))
            Issue.record("\(input) parsed")
        } catch {
            #expect(error.message == message, "\(input)")
        }
    }

    /// Duplicate keys are found by comparing keys up to 16 members and with a set beyond; nested containers share
    /// the parser's stacks, so siblings and parents keep their own members.
    @Test func duplicateKeysAndNestedContainersAtEverySize() throws {
        for size in [2, 16, 17, 40] {
            let members = (0..<size).map { #""k\#($0)":[\#($0),{"k\#($0)":\#($0)}]"# }
            let document = try parse("{" + members.joined(separator: ",") + "}")
            #expect(
                document
                    == .object(
                        (0..<size).map { i in
                            ("k\(i)", .array([.int(Int64(i)), .object([("k\(i)", .int(Int64(i)))])]))
                        }))
            for repeated in [0, size - 1] {
                let text = "{" + members.joined(separator: ",") + #","k\#(repeated)":0}"#
                do {
                    _ = try JSONParser.parse(Array(text.utf8))
                    Issue.record("a duplicate of k\(repeated) among \(size) members parsed")
                } catch {
                    #expect(error.message == "duplicate key \"k\(repeated)\"")
                }
            }
        }
    }

    @Test func rejectsInvalidUTF8AndDeepNesting() throws {
        #expect(throws: JSONParseError(message: "invalid UTF-8 in a string", offset: 1)) {
            try JSONParser.parse([0x22, 0xC3, 0x28, 0x22])
        }
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParseError.self) { try parse(deep) }
        let fine = String(repeating: "[", count: 63) + String(repeating: "]", count: 63)
        var value = try parse(fine)
        for _ in 0..<62 {
            guard case .array(let elements) = value, elements.count == 1 else { break }
            value = elements[0]
        }
        #expect(value == .array([]), "63 nested arrays parse to 63 levels")
    }
}
