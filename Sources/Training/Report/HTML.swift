/// Text into HTML: every string the report shows or puts in an attribute passes through `escape`.
enum HTML {
    /// The five characters that could end a text node or an attribute value, as character references.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A table with a header row; `cells` are escaped, numbers right-aligned by the page's style.
    static func table(header: [String], rows: [[String]], numericFrom firstNumericColumn: Int = 1) -> String {
        func row(_ cells: [String], tag: String) -> String {
            "<tr>"
                + cells.enumerated().map { i, cell in
                    let numeric = i >= firstNumericColumn ? " class=\"num\"" : ""
                    return "<\(tag)\(numeric)>\(escape(cell))</\(tag)>"
                }.joined() + "</tr>"
        }
        return "<table>\n<thead>" + row(header, tag: "th") + "</thead>\n<tbody>\n"
            + rows.map { row($0, tag: "td") }.joined(separator: "\n") + "\n</tbody>\n</table>"
    }

    /// A number for a table cell: fixed digits, or "–" when undefined.
    static func number(_ value: Double?, digits: Int = 4) -> String {
        value.map { String.fixed($0, digits: digits) } ?? "–"
    }
}
