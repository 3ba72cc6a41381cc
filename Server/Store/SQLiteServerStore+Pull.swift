import GRDB
public import TandemProtocol

extension SQLiteServerStore {
    /// The candidates of a pull page (``StoreAdapter/pullCandidates(since:limit:viewer:)``),
    /// assembled from what the store rendered when it wrote them (`log.item`,
    /// `record.values_json`): nothing is decoded.
    ///
    /// A member reads the entries in its organisation's feed and everyone's (``FeedRow``) of
    /// the records it may read now (`visibility`) and of the records that do not exist that it
    /// wrote itself (a rejected insert).
    public func pullCandidates(since: Int64, limit: Int, viewer: String?) async throws -> PullCandidates {
        try await read(quick: limit <= Self.quickPageLimit) { db in
            try self.pullCandidates(since: since, limit: limit, viewer: viewer, db: db)
        }
    }

    /// The largest page read on a quick reader (``quickRead(_:)``); a larger one (a bootstrap's,
    /// a bundle's) goes through the pool, so that it never holds up the pulls of a second.
    static let quickPageLimit = 1000

    /// The token and its pull's candidates in one read (``StoreAdapter/pullCandidates(token:since:limit:)``).
    public func pullCandidates(token hash: String, since: Int64, limit: Int) async throws
        -> (token: TokenLookup?, candidates: PullCandidates?)
    {
        try await read(quick: limit <= Self.quickPageLimit) { db in
            guard let token = try Self.token(hash: hash, db: db) else { return (nil, nil) }
            guard let viewer = token.pullViewer else { return (token, nil) }
            return (token, try self.pullCandidates(since: since, limit: limit, viewer: viewer, db: db))
        }
    }

    /// Everything a page may hold, in the caller's read transaction: the head (with its hash)
    /// and the entries and markers up to it — none to look for when `since` is the head (a
    /// no-op pull: entries and their markers are written together, so none lies beyond it).
    private func pullCandidates(since: Int64, limit: Int, viewer: String?, db: Database) throws -> PullCandidates {
        let head = try Self.head(db: db)
        let isUpToDate = since >= head.seq
        return PullCandidates(
            entries: isUpToDate ? [] : try entries(after: since, limit: limit, viewer: viewer, db: db),
            markers: try viewer.map { viewer in
                isUpToDate ? [] : try markers(after: since, limit: limit, organisation: viewer, db: db)
            },
            head: head.seq, headHash: head.seq > 0 ? head.hash : nil, schemaVersion: schema.version)
    }

    /// Up to `limit` log entries after `since` that `viewer` may read (all when nil). A member's
    /// are read from its organisation's feed and everyone's (docs/visibility.md "The pull feed"),
    /// each checked against who may read its record now — or, when the organisation gained sight
    /// of a record with earlier entries after `since`, found by reading every entry after `since`.
    private func entries(after since: Int64, limit: Int, viewer: String?, db: Database) throws -> [PullCandidate] {
        // An entry naming another table than its record's (a forged or mistaken change, rejected
        // `schema:table`) never carries the record.
        let select = """
            SELECT l.seq, l.tbl, l.record_id, l.item, r.version, r.deleted, r.values_json
            FROM log l LEFT JOIN record r ON r.id = l.record_id AND r.tbl = l.tbl
            """
        let mayRead = """
            EXISTS (SELECT 1 FROM visibility v WHERE v.record_id = l.record_id AND v.organisation = :viewer)
            OR (r.id IS NULL AND json_extract(l.entry, '$.author.organisation') = :viewer)
            """
        // Device registrations and schema installations are history for auditors, not data for replicas.
        let hidden = "l.tbl NOT IN (SELECT value FROM json_each(:hidden))"
        let rows: RowCursor
        if let viewer,
            try Bool.fetchOne(
                db.cachedStatement(
                    sql: "SELECT NOT EXISTS (SELECT 1 FROM feed_gap WHERE organisation = ? AND seq > ?)"),
                arguments: [viewer, since]) == true
        {
            rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        WITH k(seq) AS (
                            SELECT seq FROM pull_feed WHERE organisation = :everyone AND seq > :since
                            UNION ALL
                            SELECT f.seq FROM pull_feed f JOIN log l ON l.seq = f.seq
                                LEFT JOIN record r ON r.id = l.record_id AND r.tbl = l.tbl
                                WHERE f.organisation = :viewer AND f.seq > :since AND (\(mayRead))
                            ORDER BY 1 LIMIT :limit)
                        SELECT l.seq, l.tbl, l.record_id, l.item, r.version, r.deleted, r.values_json
                        FROM k CROSS JOIN log l ON l.seq = k.seq LEFT JOIN record r ON r.id = l.record_id AND r.tbl = l.tbl
                        ORDER BY l.seq
                        """),
                arguments: ["everyone": FeedRow.everyone, "since": since, "viewer": viewer, "limit": limit])
        } else if let viewer {
            rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: select + """
                         WHERE l.seq > :since AND \(hidden) AND (
                            l.tbl IN (SELECT value FROM json_each(:open)) OR \(mayRead))
                        ORDER BY l.seq LIMIT :limit
                        """),
                arguments: [
                    "since": since, "hidden": Self.jsonArray(SchemaRegistry.pseudoTables), "open": openTablesJSON,
                    "viewer": viewer, "limit": limit,
                ])
        } else {
            rows = try Row.fetchCursor(
                db.cachedStatement(sql: select + " WHERE l.seq > :since AND \(hidden) ORDER BY l.seq LIMIT :limit"),
                arguments: ["since": since, "hidden": Self.jsonArray(SchemaRegistry.pseudoTables), "limit": limit])
        }
        var entries: [PullCandidate] = []
        while let row = try rows.next() {
            let isDeleted: Bool = row["deleted"] ?? false
            var item = ""
            PullItem.render(
                seq: row["seq"], table: row["tbl"], recordID: row["record_id"], version: row["version"] ?? 0,
                isDeleted: isDeleted, record: isDeleted ? nil : row["values_json"], entry: row["item"], to: &item)
            entries.append(PullCandidate(seq: row["seq"], recordID: row["record_id"], kind: .entry, item: item))
        }
        return entries
    }

    /// Up to `limit` markers of `organisation` after `since`, completed to the end of the last
    /// one's seq (so that a seq's markers are never split).
    private func markers(after since: Int64, limit: Int, organisation: String, db: Database) throws
        -> [PullCandidate]
    {
        let select = """
            SELECT m.seq, m.record_id, m.kind, r.tbl, r.version, r.deleted, r.values_json,
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
        return rows.compactMap { row in
            guard let kind = MarkerRow.Kind(rawValue: row["kind"]) else { return nil }
            let isDeleted: Bool = row["deleted"]
            let leaves = kind == .departure
            var item = ""
            PullItem.render(
                seq: row["seq"], table: row["tbl"], recordID: row["record_id"], version: row["version"],
                isDeleted: leaves ? false : isDeleted, record: leaves || isDeleted ? nil : row["values_json"],
                entry: nil, isVisible: !leaves, to: &item)
            return PullCandidate(
                seq: row["seq"], recordID: row["record_id"], kind: leaves ? .departure : .arrival,
                isReadable: row["readable"], item: item)
        }
    }
}
