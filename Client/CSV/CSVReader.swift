/// Reads CSV as RFC 4180 has it: comma-separated fields, optionally in double quotes (a quote
/// inside doubled), quoted fields may span lines, CRLF or LF line ends, an optional UTF-8 BOM.
///
/// Each row comes with the line it starts on, so that errors can name it.
///
/// ```swift
/// var reader = CSVReader(bytes: Array(text.utf8))
/// while let row = try reader.next() { print(row.line, row.fields) }
/// ```
public struct CSVReader {
    public struct Row: Equatable, Sendable {
        public var line: Int
        public var fields: [String]
    }

    private let bytes: [UInt8]
    private var position: Int
    private var line = 1

    public init(bytes: [UInt8]) {
        self.bytes = bytes
        position = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    }

    /// The next row, or nil at the end. Blank lines are skipped.
    ///
    /// - Throws: `invalidData` naming the line of an unterminated quote or of text after a
    ///   closing quote, or of bytes that are not UTF-8.
    public mutating func next() throws(ReplicaError) -> Row? {
        while position < bytes.count, bytes[position] == UInt8(ascii: "\n") || bytes[position] == UInt8(ascii: "\r") {
            if bytes[position] == UInt8(ascii: "\n") { line += 1 }
            position += 1
        }
        guard position < bytes.count else { return nil }
        let startLine = line
        var fields: [String] = []
        var field: [UInt8] = []
        while true {
            if position < bytes.count, bytes[position] == UInt8(ascii: "\"") {
                position += 1
                while true {
                    guard position < bytes.count else {
                        throw ReplicaError(.invalidData, "line \(startLine): a quoted field is never closed")
                    }
                    let byte = bytes[position]
                    position += 1
                    if byte == UInt8(ascii: "\"") {
                        if position < bytes.count, bytes[position] == UInt8(ascii: "\"") {
                            field.append(byte)
                            position += 1
                        } else {
                            break
                        }
                    } else {
                        if byte == UInt8(ascii: "\n") { line += 1 }
                        field.append(byte)
                    }
                }
                if position < bytes.count,
                    ![UInt8(ascii: ","), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(
                        bytes[position])
                {
                    throw ReplicaError(.invalidData, "line \(line): text after a closing quote")
                }
            } else {
                // An unquoted field is a slice of the input: no copy until it becomes a String.
                let start = position
                while position < bytes.count {
                    let byte = bytes[position]
                    if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { break }
                    if byte == UInt8(ascii: "\"") {
                        throw ReplicaError(.invalidData, "line \(line): a quote inside an unquoted field")
                    }
                    position += 1
                }
                field.append(contentsOf: bytes[start..<position])
            }
            guard let text = String(validating: field, as: UTF8.self) else {
                throw ReplicaError(.invalidData, "line \(line): not valid UTF-8")
            }
            fields.append(text)
            field.removeAll(keepingCapacity: true)
            if position < bytes.count, bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            // End of row: CRLF, LF, CR or the end of the input.
            if position < bytes.count, bytes[position] == UInt8(ascii: "\r") { position += 1 }
            if position < bytes.count, bytes[position] == UInt8(ascii: "\n") { position += 1 }
            line += 1
            return Row(line: startLine, fields: fields)
        }
    }
}

/// Writes CSV that ``CSVReader`` (and spreadsheets) read back: fields quoted only when they hold
/// a comma, a quote, a line break, or leading or trailing spaces.
public enum CSVWriter {
    public static func line(_ fields: [String]) -> String {
        fields.map(escape).joined(separator: ",") + "\n"
    }

    static func escape(_ field: String) -> String {
        let needsQuotes =
            field.utf8.contains { byte in
                byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\n")
                    || byte == UInt8(ascii: "\r")
            } || field.first == " " || field.last == " "
        guard needsQuotes else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
