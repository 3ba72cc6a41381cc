/// The merge's questions (``MergeContext``) answered by scanning every record held: the
/// definition that a store answers from its indexes, stated once for in-memory fakes and tests.
///
/// ```swift
/// let context = RecordScan(schema: .partnership, records: records)
/// merge.apply(change, by: author, to: records[change.recordID], now: now, context: context)
/// ```
package struct RecordScan: MergeContext {
    package let schema: Schema
    package let records: [String: RecordState]

    package init(schema: Schema, records: [String: RecordState]) {
        self.schema = schema
        self.records = records
    }

    private func live(_ table: String) -> some Sequence<RecordState> {
        records.values.lazy.filter { $0.table == table && !$0.isDeleted }
    }

    package func isLive(table: String, id: String) -> Bool {
        records[id].map { $0.table == table && !$0.isDeleted } ?? false
    }

    package func readers(of id: String) -> Set<String> {
        records[id].flatMap { Visibility.readers(of: $0, in: schema, among: records.values) } ?? []
    }

    package func liveValues(table: String, id: String) -> [String: JSONValue]? {
        isLive(table: table, id: id) ? records[id]?.values : nil
    }

    package func isReferenced(table: String, id: String) -> Bool {
        let referring = schema.references(to: table)
        return records.values.contains { record in
            !record.isDeleted
                && referring.contains { $0.table.name == record.table && record[$0.field.name] == .string(id) }
        }
    }

    package func holder(of value: JSONValue, table: String, field: String, excluding id: String) -> String? {
        live(table).filter { $0.id != id && $0[field] == value }.map(\.id).min()
    }

    package func count(
        in table: String, field: String, refersTo group: String, meeting condition: Constraint.Condition?,
        excluding id: String
    ) -> Int {
        live(table).filter { record in
            record.id != id && record[field] == .string(group) && (condition?.isMet(by: record.values) ?? true)
        }.count
    }

    package func referrers(in table: String, field: String, to id: String) -> [(
        id: String, values: [String: JSONValue]
    )] {
        live(table).filter { $0[field] == .string(id) }.sorted { $0.id < $1.id }.map { ($0.id, $0.values) }
    }
}
