#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A streaming CSV reader: one line in memory at a time, so a file of any size can be read.
/// RFC 4180 subset: comma-separated, optional double quotes with `""` as an escaped quote; a record may
/// not span lines. CR before LF is ignored.
public final class CSVReader {
    public let path: String
    /// The header's column names.
    public let header: [String]
    /// 1-based number of the line last returned by `next()` (the header is line 1).
    public private(set) var lineNumber = 1
    private let file: UnsafeMutablePointer<FILE>
    private var buffer: UnsafeMutablePointer<CChar>?
    private var capacity = 0

    public init(path: String) throws(DataError) {
        guard let file = fopen(path, "r") else {
            throw DataError(
                file: path, line: 0, column: nil, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        var buffer: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        let header: [String]
        do throws(DataError) {
            guard let line = Self.readLine(file, &buffer, &capacity) else {
                throw DataError(file: path, line: 1, column: nil, message: "empty file: a header line is required")
            }
            header = try Self.split(line, path: path, lineNumber: 1)
        } catch {
            fclose(file)
            free(buffer)
            throw error
        }
        self.path = path
        self.file = file
        self.buffer = buffer
        self.capacity = capacity
        self.header = header
    }

    deinit {
        fclose(file)
        free(buffer)
    }

    /// The next record's fields, or nil at end of file. Blank lines are skipped.
    public func next() throws(DataError) -> [String]? {
        while let line = Self.readLine(file, &buffer, &capacity) {
            lineNumber += 1
            if line.isEmpty { continue }
            return try Self.split(line, path: path, lineNumber: lineNumber)
        }
        return nil
    }

    /// Non-blank lines after the header (an upper bound on the records a reader returns).
    public static func countRecords(path: String) throws(DataError) -> Int {
        guard let file = fopen(path, "r") else {
            throw DataError(
                file: path, line: 0, column: nil, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var buffer: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(buffer) }
        var lines = 0
        while let line = readLine(file, &buffer, &capacity) { if !line.isEmpty { lines += 1 } }
        return max(lines - 1, 0)
    }

    private static func readLine(
        _ file: UnsafeMutablePointer<FILE>, _ buffer: inout UnsafeMutablePointer<CChar>?, _ capacity: inout Int
    ) -> UnsafeBufferPointer<UInt8>? {
        let length = getline(&buffer, &capacity, file)
        guard length >= 0, let buffer else { return nil }
        var count = length
        let bytes = UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self)
        while count > 0, bytes[count - 1] == UInt8(ascii: "\n") || bytes[count - 1] == UInt8(ascii: "\r") { count -= 1 }
        return UnsafeBufferPointer(start: bytes, count: count)
    }

    static func split(_ line: UnsafeBufferPointer<UInt8>, path: String, lineNumber: Int) throws(DataError) -> [String] {
        var fields: [String] = []
        fields.reserveCapacity(32)
        var index = 0
        let count = line.count
        while true {
            if index < count, line[index] == UInt8(ascii: "\"") {
                var bytes: [UInt8] = []
                index += 1
                var closed = false
                while index < count {
                    let byte = line[index]
                    if byte == UInt8(ascii: "\"") {
                        if index + 1 < count, line[index + 1] == UInt8(ascii: "\"") {
                            bytes.append(byte)
                            index += 2
                            continue
                        }
                        closed = true
                        index += 1
                        break
                    }
                    bytes.append(byte)
                    index += 1
                }
                guard closed, index == count || line[index] == UInt8(ascii: ",") else {
                    throw DataError(
                        file: path, line: lineNumber, column: fields.count + 1,
                        message: closed
                            ? "text after a closing quote" : "unterminated quote (records may not span lines)")
                }
                fields.append(String(decoding: bytes, as: UTF8.self))
            } else {
                let start = index
                while index < count, line[index] != UInt8(ascii: ",") { index += 1 }
                fields.append(String(decoding: UnsafeBufferPointer(rebasing: line[start..<index]), as: UTF8.self))
            }
            if index >= count { break }
            index += 1  // the comma
            if index == count {
                fields.append("")
                break
            }
        }
        return fields
    }
}
