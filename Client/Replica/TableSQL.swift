import TandemProtocol

/// The SQL a replica runs against one schema table, built once when the replica opens: statements
/// are looked up by their text in GRDB's cache, and building the text per row cost more than the
/// insert itself.
struct TableSQL: Sendable {
    let select: String
    let selectByID: String
    let insert: String
    let exists: String

    init(_ table: TableSchema) {
        let name = table.name.quotedIdentifier
        let columns = ["id"] + table.fields.map(\.name.quotedIdentifier)
        select = "SELECT \(columns.joined(separator: ", ")) FROM \(name)"
        selectByID = select + " WHERE id = ?"
        let marks = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        insert = "INSERT INTO \(name) (\(columns.joined(separator: ", "))) VALUES (\(marks))"
        exists = "SELECT EXISTS (SELECT 1 FROM \(name) WHERE id = ?)"
    }
}
