import GRDB
public import TandemProtocol

/// How table output names records for people (SPEC §3): organisations, persons, rounds and
/// challenges — every table with a *label field* — by their label, and records by a short id
/// where needed to tell them apart. JSON and CSV keep the ids exactly; this is for tables only.
///
/// - The **label field** of a table is its first required text field, else its first required
///   unique field (`organisation.name`, `person.full_name`, `round.number`, `challenge.title`);
///   a table with neither (`exchange`) has none. It is read from the schema: no table is named here.
/// - A **short id** is `@` and the first characters of the id's last group (its random part:
///   UUIDv7 ids made in the same second share their first 8–11 characters, never their last
///   12), as many as make it unique among the table's records in this replica, at least 6:
///   `0193a1b2-c3d4-7e5f-8a6b-0c1d2e3f4a5b` is `@0c1d2e`. Commands take it wherever they take an
///   id or a prefix (``Replica/resolve(_:in:db:)``).
///
/// ```swift
/// let names = try replica.names(of: ["person", "organisation"])
/// names.name(of: anaID, in: "person")   // "Ana Novak", or "Ana Novak @0c1d2e" when two Ana Novaks
/// ```
public struct RecordNames: Sendable {
    struct Table: Sendable {
        var labels: [String: String] = [:]
        var shared: Set<String> = []
        var shortLength = RecordNames.minimumShortLength
        var ids: Set<String> = []
        var fields: [FieldSchema] = []
    }

    var tables: [String: Table] = [:]

    /// Names nothing: every id is shown whole.
    public init() {}

    /// The fewest characters of a short id.
    public static let minimumShortLength = 6
    /// Where an id's last group starts (`8-4-4-4-12`).
    static let lastGroupOffset = 24

    /// The field whose value names a record of `table`, if it has one.
    public static func labelField(of table: TableSchema) -> FieldSchema? {
        table.fields.first { $0.isRequired && $0.type == .text }
            ?? table.fields.first { $0.isRequired && $0.isUnique }
    }

    /// How many characters of the last group make every id of `ids` distinct (at least
    /// ``minimumShortLength``, at most 12).
    package static func shortLength(of ids: some Sequence<String>) -> Int {
        let tails = ids.map { Array($0.utf8.dropFirst(lastGroupOffset)) }.sorted { $0.lexicographicallyPrecedes($1) }
        var length = minimumShortLength
        for (first, second) in zip(tails, tails.dropFirst()) {
            let common = zip(first, second).prefix { $0 == $1 }.count
            length = max(length, common + 1)
        }
        return min(length, 12)
    }

    /// `@` and the first characters of the id's last group; the id itself when it is not a
    /// UUID or this replica does not hold it in `table`.
    public func shortID(_ id: String, in table: String) -> String {
        guard let names = tables[table], names.ids.contains(id), id.utf8.count == 36 else { return id }
        return "@" + String(id.dropFirst(Self.lastGroupOffset).prefix(names.shortLength))
    }

    /// The record's name: its label; with its short id when another record of the table has the
    /// same label; its short id when it has no label; the whole id when this replica does not
    /// hold it (a record of another organisation it may not read).
    public func name(of id: String, in table: String) -> String {
        guard let names = tables[table], names.ids.contains(id) else { return id }
        guard let label = names.labels[id] else { return shortID(id, in: table) }
        return names.shared.contains(label) ? label + " " + shortID(id, in: table) : label
    }

    /// The field `name` of `table`, when names of that table were read.
    public func field(_ name: String, of table: String) -> FieldSchema? {
        tables[table]?.fields.first { $0.name == name }
    }

    /// A JSON value of `field` (nil: a field the schema does not know) as a table cell: a reference
    /// by name, a string as it is, NULL as nothing, anything else as JSON.
    public func text(json value: JSONValue, of field: FieldSchema?) -> String {
        switch value {
        case .null: return ""
        case let .string(text):
            guard let field, field.type == .ref, let target = field.references else { return text }
            return name(of: text, in: target)
        default: return value.serialized()
        }
    }

    /// `field=value, …` in name order, references by name (long values cut as table cells are).
    public func text(fields: [String: JSONValue], of table: TableSchema?) -> String {
        fields.sorted { $0.key < $1.key }.map { name, value in
            let field = table?.fields.first { $0.name == name }
            return name + "=" + TextTable.cut(text(json: value, of: field))
        }.joined(separator: ", ")
    }

    /// A value as a table cell: a reference by the name of the record it refers to, anything else
    /// as command-line text.
    public func text(_ value: FieldValue, of field: FieldSchema) -> String {
        guard field.type == .ref, let target = field.references, case let .text(id) = value else {
            return value.plainText
        }
        return name(of: id, in: target)
    }
}

extension Replica {
    /// The names of the records of `tables` (unknown names are skipped): their labels and short
    /// ids, read in one go (``RecordNames``).
    public func names(of tables: some Sequence<String>) throws(ReplicaError) -> RecordNames {
        let known = Set(tables).compactMap { try? table($0) }
        return try read { db in
            var names = RecordNames()
            for table in known {
                var entry = RecordNames.Table(fields: table.fields)
                let label = RecordNames.labelField(of: table)
                let column = label.map { $0.name.quotedIdentifier } ?? "NULL"
                var seen = Set<String>()
                let rows = try Row.fetchCursor(db, sql: "SELECT id, \(column) FROM \(table.name.quotedIdentifier)")
                while let row = try rows.next() {
                    let id: String = row[0]
                    entry.ids.insert(id)
                    guard let label else { continue }
                    let text = FieldValue(databaseValue: row[1], type: label.type).plainText
                    guard !text.isEmpty else { continue }
                    entry.labels[id] = text
                    if !seen.insert(text).inserted { entry.shared.insert(text) }
                }
                entry.shortLength = RecordNames.shortLength(of: entry.ids)
                names.tables[table.name] = entry
            }
            return names
        }
    }

    /// The tables whose names a table's output shows: itself and those its references point to.
    public func namedTables(for table: TableSchema) -> [String] {
        [table.name] + table.fields.compactMap(\.references)
    }

    /// The table whose records are the organisations tokens belong to (owned by their own id:
    /// `organisation`), if the schema has one.
    public var organisationTable: String? { schema.tables.first { $0.owners == ["id"] }?.name }
}
