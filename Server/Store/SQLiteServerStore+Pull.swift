import GRDB
public import TandemProtocol

extension SQLiteServerStore {
    /// Log entries after `since` that `principal` may read, each with its record as it now
    /// stands, merged in seq order with the caller's visibility markers (docs/visibility.md).
    ///
    /// Coordinators and auditors read every entry. A member reads the entries of the tables every
    /// token reads, of the records its organisation may read now, and of the records that do not
    /// exist that it wrote itself (a rejected insert); plus its markers: an arrival of a record
    /// it may read now becomes an item with the whole record and no entry, a departure of one it
    /// may not read now an item with `isVisible` false.
    ///
    /// A page holds at most `limit` items, but the items of one seq are never split across
    /// pages. `next` is the seq the page covers up to — past entries the caller may not read, so
    /// that it never scans them again — and `more` says whether the log goes beyond it.
    public func pull(since: Int64, limit: Int, for principal: Principal) async throws -> PullResponse {
        return try await read { db in
            let openTables = self.openTablesJSON
            let head = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM log") ?? 0
            let viewer: String?
            switch principal.role {
            case .coordinator, .auditor, .server: viewer = nil
            case .member: viewer = principal.organisation ?? ""
            }
            let entries = try self.entries(after: since, limit: limit, viewer: viewer, openTables: openTables, db: db)
            var bound = head
            if entries.count >= limit, let last = entries.last { bound = min(bound, last.seq) }
            var markers: [PullItem] = []
            if let viewer {
                let scanned = try self.markers(after: since, limit: limit, organisation: viewer, db: db)
                if scanned.count >= limit, let last = scanned.last { bound = min(bound, last.item.seq) }
                // Only what the viewer may read now arrives, and only what it may not leaves: a
                // record that came and went since `since` is not sent at all.
                let seen = Set(entries.map { "\($0.seq) \($0.recordID)" })
                markers = scanned.compactMap { marker in
                    switch (marker.kind, marker.isReadable) {
                    case (.arrival, true):
                        seen.contains("\(marker.item.seq) \(marker.item.recordID)") ? nil : marker.item
                    case (.departure, false): marker.item
                    default: nil
                    }
                }
            }
            // In seq order, a seq's log entry before its markers.
            let candidates = (entries + markers).filter { $0.seq <= bound }.sorted {
                ($0.seq, $0.entry == nil ? 1 : 0) < ($1.seq, $1.entry == nil ? 1 : 0)
            }
            var items: [PullItem] = []
            var next = max(bound, since)
            var index = candidates.startIndex
            while index < candidates.endIndex {
                let seq = candidates[index].seq
                let end = candidates[index...].firstIndex { $0.seq != seq } ?? candidates.endIndex
                if !items.isEmpty, items.count + (end - index) > limit {
                    next = items.last?.seq ?? since
                    break
                }
                items += candidates[index..<end]
                index = end
            }
            return PullResponse(items: items, next: next, more: next < head, schemaVersion: self.schema.version)
        }
    }

    /// Up to `limit` log entries after `since` that `viewer` may read (all when nil), as items.
    private func entries(
        after since: Int64, limit: Int, viewer: String?, openTables: String, db: Database
    ) throws -> [PullItem] {
        let select = """
            SELECT l.seq, l.tbl, l.record_id, l.entry, r.version, r.deleted, r.state
            FROM log l LEFT JOIN record r ON r.id = l.record_id AND r.tbl = l.tbl
            """
        // Device registrations and schema installations are history for auditors, not data for replicas.
        let pseudoTables = JSONValue.array(SchemaRegistry.pseudoTables.map(JSONValue.string)).serialized()
        let rows: [Row]
        if let viewer {
            rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: select + """
                         WHERE l.seq > ? AND l.tbl NOT IN (SELECT value FROM json_each(?)) AND (
                            l.tbl IN (SELECT value FROM json_each(?))
                            OR EXISTS (SELECT 1 FROM visibility v WHERE v.record_id = l.record_id AND v.organisation = ?)
                            OR (r.id IS NULL AND json_extract(l.entry, '$.author.organisation') = ?))
                        ORDER BY l.seq LIMIT ?
                        """),
                arguments: [since, pseudoTables, openTables, viewer, viewer, limit])
        } else {
            rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: select
                        + " WHERE l.seq > ? AND l.tbl NOT IN (SELECT value FROM json_each(?)) ORDER BY l.seq LIMIT ?"),
                arguments: [since, pseudoTables, limit])
        }
        return try rows.map { row in
            let logged = try LogEntry(json: JSONValue.parse(row["entry"] as String))
            let change = try Change(json: logged.change)
            let isDeleted: Bool = row["deleted"] ?? false
            let entry = PullItem.Entry(
                changeID: change.changeID, time: logged.time, author: logged.author, op: change.op,
                fields: change.fields, outcome: try Outcome(json: logged.outcome), hlc: change.hlc,
                baseVersion: change.baseVersion, device: change.device, signature: change.signature)
            return PullItem(
                seq: row["seq"], table: row["tbl"], recordID: row["record_id"], version: row["version"] ?? 0,
                isDeleted: isDeleted, record: try Self.liveValues(row["state"], isDeleted: isDeleted), entry: entry)
        }
    }

    /// A visibility marker as a pull item, with whether the organisation may read its record now.
    private struct ScannedMarker {
        var kind: MarkerRow.Kind
        var isReadable: Bool
        var item: PullItem
    }

    /// Up to `limit` markers of `organisation` after `since`, completed to the end of the last
    /// one's seq (so that a seq's markers are never split).
    private func markers(after since: Int64, limit: Int, organisation: String, db: Database) throws -> [ScannedMarker] {
        let select = """
            SELECT m.seq, m.record_id, m.kind, r.tbl, r.version, r.deleted, r.state,
                EXISTS (SELECT 1 FROM visibility v WHERE v.record_id = m.record_id AND v.organisation = m.organisation)
                    AS readable
            FROM visibility_marker m JOIN record r ON r.id = m.record_id
            """
        var rows = try Row.fetchAll(
            db.cachedStatement(
                sql: select + " WHERE m.organisation = ? AND m.seq > ? ORDER BY m.seq, m.record_id LIMIT ?"),
            arguments: [organisation, since, limit])
        if rows.count >= limit, let last = rows.last {
            rows += try Row.fetchAll(
                db.cachedStatement(
                    sql: select + " WHERE m.organisation = ? AND m.seq = ? AND m.record_id > ? ORDER BY m.record_id"),
                arguments: [organisation, last["seq"] as Int64, last["record_id"] as String])
        }
        return try rows.compactMap { row in
            guard let kind = MarkerRow.Kind(rawValue: row["kind"]) else { return nil }
            let isReadable: Bool = row["readable"]
            let isDeleted: Bool = row["deleted"]
            let leaves = kind == .departure
            let item = PullItem(
                seq: row["seq"], table: row["tbl"], recordID: row["record_id"], version: row["version"],
                isDeleted: leaves ? false : isDeleted,
                record: leaves ? nil : try Self.liveValues(row["state"], isDeleted: isDeleted), entry: nil,
                isVisible: !leaves)
            return ScannedMarker(kind: kind, isReadable: isReadable, item: item)
        }
    }

    /// A stored state's values in wire form, unset fields left out; nil for a deleted or absent record.
    private static func liveValues(_ state: String?, isDeleted: Bool) throws -> [String: JSONValue]? {
        guard let state, !isDeleted else { return nil }
        return try decodeFields(state).compactMapValues { $0.value == .null ? nil : $0.value }
    }
}
