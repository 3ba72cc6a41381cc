import Foundation
import GRDB
import TandemProtocol

extension ReplicaEditor {
    /// Imports a CSV file into a table: a header row of field names (and optionally `id`), then
    /// one record a row. One transaction: every row goes in, or none does.
    ///
    /// - Returns: the number of records inserted.
    /// - Throws: `notFound` (no such table or file); `invalidData` naming the file, the line of
    ///   the first bad row, and what is wrong with it.
    @discardableResult
    public func importCSV(into tableName: String, from file: String) throws(ReplicaError) -> Int {
        let table = try table(tableName)
        guard let data = FileManager.default.contents(atPath: file) else {
            let exists = FileManager.default.fileExists(atPath: file)
            throw ReplicaError(.notFound, "\(file): \(exists ? "cannot read it" : "no such file")")
        }
        let name = (file as NSString).lastPathComponent
        return try importCSV(into: table, bytes: Array(data), source: name)
    }

    /// Imports CSV bytes; `source` names them in errors.
    public func importCSV(into tableName: String, bytes: [UInt8], source: String) throws(ReplicaError) -> Int {
        try importCSV(into: try table(tableName), bytes: bytes, source: source)
    }

    private func importCSV(into table: TableSchema, bytes: [UInt8], source: String) throws(ReplicaError) -> Int {
        var reader = CSVReader(bytes: bytes)
        func located(_ line: Int, _ error: any Error) -> ReplicaError {
            let error = ReplicaError.from(error, path: replica.path)
            guard error.code == .invalidData || error.code == .usage || error.code == .notFound else { return error }
            let message =
                error.message.hasPrefix("line ") ? String(error.message.dropFirst(5)) : "\(line): \(error.message)"
            return ReplicaError(.invalidData, "\(source):\(message)")
        }
        let header: [String]
        do {
            guard let row = try reader.next() else {
                throw ReplicaError(.invalidData, "\(source): empty file, no header")
            }
            header = row.fields
        } catch {
            throw located(1, error)
        }
        var seen = Set<String>()
        for column in header {
            guard column == "id" || table.fields.contains(where: { $0.name == column }) else {
                throw ReplicaError(.invalidData, "\(source):1: \(table.name) has no field \"\(column)\"")
            }
            guard seen.insert(column).inserted else {
                throw ReplicaError(.invalidData, "\(source):1: column \"\(column)\" appears twice")
            }
        }
        // Bulk path: values by field position, defaults filled in once, refs taken as whole ids.
        let positions = header.map { column in column == "id" ? -1 : table.fields.firstIndex { $0.name == column }! }
        let defaults = table.defaultValues
        return try write { db in
            var clock = try replica.editClock(in: db)
            var references = ReferenceCache()
            let editor = try Self.editor(in: db)
            try Self.refuseAuditor(editor, table: table, id: nil)
            var count = 0
            var line = 1
            do {
                while let row = try reader.next() {
                    line = row.line
                    guard row.fields.count == header.count else {
                        throw ReplicaError(
                            .invalidData, "expected \(header.count) values as in the header, found \(row.fields.count)")
                    }
                    var values = defaults
                    var id: String?
                    for (column, text) in zip(positions, row.fields) {
                        guard column >= 0 else {
                            id = try Self.parseID(text, table: table)
                            continue
                        }
                        let field = table.fields[column]
                        var value = try FieldValue(parsing: text, for: field, in: table.name)
                        if field.type == .ref, let reference = value.text, !Identifier.isUUID(reference) {
                            value = .text(reference.lowercased())
                        }
                        if !value.isNull { values[column] = value }
                    }
                    _ = try insert(
                        values, id: id, into: table, editor: editor, clock: &clock, references: &references, db: db)
                    count += 1
                }
            } catch {
                throw located(line, error)
            }
            try Setting.hlc.write(clock.hlc.description, in: db)
            return count
        }
    }
}
