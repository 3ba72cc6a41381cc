import PostgresNIO
public import TandemProtocol

/// Pull pages, the history as auditors and `verify` read it, checkpoints, rollback reports,
/// tokens, conflicts and the schema: the narrow reads and writes of ``StoreAdapter``, as the
/// SQLite store answers them (same rows, same order).
extension PostgresServerStore {
    // MARK: - Pull

    public func pullCandidates(since: Int64, limit: Int, viewer: String?) async throws -> PullCandidates {
        try await read { [self] connection in
            let head = try await headTakingUpSchema(on: connection)
            return try await pullCandidates(since: since, limit: limit, viewer: viewer, head: head, on: connection)
        }
    }

    /// The token and its pull's candidates on one connection (``StoreAdapter/pullCandidates(token:since:limit:)``):
    /// the token, the head and the schema version in one statement, then the page's.
    public func pullCandidates(token hash: String, since: Int64, limit: Int) async throws
        -> (token: TokenLookup?, candidates: PullCandidates?)
    {
        startListening()
        if let (token, head) = cache.pull(hash: hash, since: since) {
            guard let viewer = token.pullViewer else { return (token, nil) }
            guard since < head.seq else {
                return (token, candidates(entries: Entries(), markers: viewer.map { _ in [] }, head: head))
            }
            return (
                token,
                try await read { [self] connection in
                    try await pullCandidates(since: since, limit: limit, viewer: viewer, head: head, on: connection)
                }
            )
        }
        let mark = cache.mark()
        return try await read { [self] connection in
            let (token, head) = try await tokenAndHead(hash: hash, on: connection)
            cache.fill(hash: hash, token: token, head: head, read: mark)
            guard let token else { return (nil, nil) }
            guard let viewer = token.pullViewer else { return (token, nil) }
            return (
                token, try await pullCandidates(since: since, limit: limit, viewer: viewer, head: head, on: connection)
            )
        }
    }

    /// Everything a page may hold up to `head`, read first: each statement sees what was
    /// committed when it began, so an entry committed between two statements must not be
    /// skipped by a `next` the page takes from a head read later. Writers commit in seq order
    /// (one lock), so everything up to the head is there for the statements that follow; none
    /// to look for when `since` is the head (a no-op pull).
    private func pullCandidates(
        since: Int64, limit: Int, viewer: String?, head: LogHead, on connection: PostgresConnection
    ) async throws -> PullCandidates {
        var entries = Entries()
        var markers: [PullCandidate]? = viewer.map { _ in [] }
        if since < head.seq {
            if let viewer {
                (entries, markers) = try await memberCandidates(
                    after: since, upTo: head.seq, limit: limit, viewer: viewer, on: connection)
            } else {
                entries = try await self.entries(after: since, upTo: head.seq, limit: limit, on: connection)
            }
        }
        return candidates(entries: entries, markers: markers, head: head)
    }

    /// A page's candidates up to `head`, with the schema version in force.
    private func candidates(entries: Entries, markers: [PullCandidate]?, head: LogHead) -> PullCandidates {
        PullCandidates(
            entries: entries.candidates, markers: markers, head: head.seq, headHash: head.seq > 0 ? head.hash : nil,
            schemaVersion: schema.version, openings: entries.openings)
    }

    /// Entries read for a pull, with the openings their rows hold (``PostgresSchema/foldOpenings``).
    private struct Entries {
        var candidates: [PullCandidate] = []
        var openings: [Int64: Openings] = [:]

        mutating func append(_ row: CandidateColumns) {
            candidates.append(PostgresServerStore.entry(row))
            if let text = row.9 { openings[row.1] = PostgresServerStore.openings(text) ?? Openings() }
        }
    }

    /// Up to `limit` log entries after `since` (coordinators and auditors: every one).
    private func entries(after since: Int64, upTo head: Int64, limit: Int, on connection: PostgresConnection)
        async throws -> Entries
    {
        let rows = try await connection.query(
            """
            SELECT \(unescaped: Self.entryColumns)
            FROM log l LEFT JOIN record r ON r.id = l.record_id AND r.tbl = l.tbl
            WHERE l.seq > \(since) AND l.seq <= \(head) AND l.tbl <> ALL(\(SchemaRegistry.pseudoTables))
            ORDER BY l.seq LIMIT \(limit)
            """, logger: logger)
        var entries = Entries()
        for try await row in rows.decode(CandidateColumns.self) { entries.append(row) }
        return entries
    }

    /// A member's candidates in one statement: up to `limit` log entries after `since` that
    /// `viewer` may read — the tables every token reads, the records its organisation may read
    /// now, and the records that do not exist that it wrote itself (a rejected insert) — and up to
    /// `limit` of its markers, completed to the end of the last one's seq (so that a seq's markers
    /// are never split: a second statement, only when a page's worth of markers came).
    ///
    /// The entries are read from the organisation's feed and everyone's (docs/visibility.md "The
    /// pull feed") — or, when it gained sight of a record with earlier entries after `since`
    /// (`feed_gap`), found among every entry after `since`.
    private func memberCandidates(
        after since: Int64, upTo head: Int64, limit: Int, viewer: String, on connection: PostgresConnection
    ) async throws -> (entries: Entries, markers: [PullCandidate]) {
        let rows = try await connection.execute(
            MemberCandidatesStatement(
                viewer: viewer, since: since, head: head, limit: Int64(limit),
                open: schema.tables.filter { !Visibility.isRestricted($0) }.map(\.name)), logger: logger)
        var entries = Entries()
        var markers: [CandidateColumns] = []
        for try await row in rows {
            if row.0 == Self.entrySource { entries.append(row) } else { markers.append(row) }
        }
        if markers.count >= limit, let last = markers.last {
            for try await row in try await connection.query(
                """
                \(unescaped: Self.markerSelect) WHERE m.organisation = \(viewer) AND m.seq = \(last.1)
                    AND m.record_id > \(last.3) ORDER BY m.record_id
                """, logger: logger
            ).decode(CandidateColumns.self) { markers.append(row) }
        }
        return (entries, markers.compactMap(Self.marker))
    }

    /// A pull candidate's columns, entries' and markers' alike: its source (``entrySource``, or the
    /// marker's kind), seq, table, record id, the entry's item, the record's version, deleted and
    /// values, for a marker whether the organisation may read the record now, and an entry's openings.
    fileprivate typealias CandidateColumns = (
        String, Int64, String?, String, String?, Int64?, Bool?, String?, Bool?, String?
    )

    private static let entrySource = "entry"

    fileprivate static let entryColumns = """
        'entry' AS source, l.seq, l.tbl, l.record_id, l.item, r.version, r.deleted, r.values_json, NULL::boolean,
            l.openings
        """

    fileprivate static let markerSelect = """
        SELECT m.kind, m.seq, r.tbl, m.record_id, NULL::text, r.version, r.deleted, r.values_json,
            EXISTS (SELECT 1 FROM visibility v WHERE v.record_id = m.record_id AND v.organisation = m.organisation),
            NULL::text
        FROM visibility_marker m JOIN record r ON r.id = m.record_id
        """

    /// An entry's candidate, rendered as a pull sends it.
    fileprivate static func entry(_ row: CandidateColumns) -> PullCandidate {
        let (_, seq, table, recordID, entry, version, deleted, values, _, _) = row
        let isDeleted = deleted ?? false
        var item = ""
        PullItem.render(
            seq: seq, table: table ?? "", recordID: recordID, version: version ?? 0, isDeleted: isDeleted,
            record: isDeleted ? nil : values, entry: entry, to: &item)
        return PullCandidate(seq: seq, recordID: recordID, kind: .entry, item: item)
    }

    /// A marker's candidate, rendered as a pull sends it (nil for an unknown kind).
    private static func marker(_ row: CandidateColumns) -> PullCandidate? {
        let (kindText, seq, table, recordID, _, version, deleted, values, isReadable, _) = row
        guard let kind = MarkerRow.Kind(rawValue: kindText) else { return nil }
        let leaves = kind == .departure
        let isDeleted = deleted ?? false
        var item = ""
        PullItem.render(
            seq: seq, table: table ?? "", recordID: recordID, version: version ?? 0,
            isDeleted: leaves ? false : isDeleted, record: leaves || isDeleted ? nil : values, entry: nil,
            isVisible: !leaves, to: &item)
        return PullCandidate(
            seq: seq, recordID: recordID, kind: leaves ? .departure : .arrival, isReadable: isReadable ?? false,
            item: item)
    }

    /// The live records `viewer` may read, a page in id order
    /// (``StoreAdapter/visibleRecords(after:limit:viewer:)``), filtered as a pull filters entries.
    public func visibleRecords(after id: String?, limit: Int, viewer: String?) async throws -> [VisibleRecord] {
        try await read { [self] connection in
            let pseudoTables = SchemaRegistry.pseudoTables
            let rows: PostgresRowSequence
            if let viewer {
                let open = schema.tables.filter { !Visibility.isRestricted($0) }.map(\.name)
                rows = try await connection.query(
                    """
                    SELECT r.tbl, r.id, r.version, r.values_json FROM record r
                    WHERE r.id > \(id ?? "") AND NOT r.deleted AND r.tbl <> ALL(\(pseudoTables))
                        AND (r.tbl = ANY(\(open))
                            OR EXISTS (SELECT 1 FROM visibility v WHERE v.record_id = r.id AND v.organisation = \(viewer)))
                    ORDER BY r.id LIMIT \(limit)
                    """, logger: logger)
            } else {
                rows = try await connection.query(
                    """
                    SELECT r.tbl, r.id, r.version, r.values_json FROM record r
                    WHERE r.id > \(id ?? "") AND NOT r.deleted AND r.tbl <> ALL(\(pseudoTables))
                    ORDER BY r.id LIMIT \(limit)
                    """, logger: logger)
            }
            var records: [VisibleRecord] = []
            records.reserveCapacity(limit)
            for try await (table, id, version, values) in rows.decode((String, String, Int64, String?).self) {
                records.append(VisibleRecord(table: table, id: id, version: version, values: values ?? "{}"))
            }
            return records
        }
    }

    // MARK: - History

    public func history(since: Int64, limit: Int) async throws -> [HistoryLine] {
        try await read { [self] connection in
            var lines: [HistoryLine] = []
            let rows = try await connection.query(
                "SELECT seq, entry FROM log WHERE seq > \(since) ORDER BY seq LIMIT \(limit)", logger: logger)
            for try await (seq, line) in rows.decode((Int64, String).self) {
                lines.append(HistoryLine(seq: seq, line: line))
            }
            return lines
        }
    }

    public func storedEntries(after seq: Int64, limit: Int) async throws -> [StoredEntry] {
        try await read { [self] connection in
            var entries: [StoredEntry] = []
            let rows = try await connection.query(
                """
                SELECT seq, change_id, tbl, record_id, entry, prev_hash, hash, item FROM log
                WHERE seq > \(seq) ORDER BY seq LIMIT \(limit)
                """, logger: logger)
            for try await row in rows.decode((Int64, String, String, String, String, String?, String?, String?).self) {
                entries.append(
                    StoredEntry(
                        seq: row.0, changeID: row.1, table: row.2, recordID: row.3, line: row.4, prevHash: row.5,
                        hash: row.6, item: row.7))
            }
            return entries
        }
    }

    public func storedRecords(after id: String?, limit: Int) async throws -> [StoredRecord] {
        try await read { [self] connection in
            var found: [StoredRecord] = []
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.recordColumns) FROM record WHERE id > \(id ?? "") ORDER BY id LIMIT \(limit)
                """, logger: logger)
            for try await row in rows.decode(RecordRow.self) {
                // Decoded afresh, never from the cache: verify checks what the store holds.
                found.append(StoredRecord(state: try Self.decode(row), values: row.5, seq: row.6))
            }
            return found
        }
    }

    public func storedReferences() async throws -> [String: ReferenceIndex.Total] {
        try await read { [self] connection in
            var stored: [String: ReferenceIndex.Total] = [:]
            let rows = try await connection.query(
                "SELECT target, count(*) FROM reference GROUP BY target", logger: logger)
            for try await (target, held) in rows.decode((String, Int64).self) {
                stored[target, default: .init()].rows = Int(held)
            }
            let counts = try await connection.query("SELECT target, count FROM reference_count", logger: logger)
            for try await (target, count) in counts.decode((String, Int64).self) {
                stored[target, default: .init()].count = Int(count)
            }
            return stored
        }
    }

    /// Indexes the references of every live record again, as `schema` keeps them
    /// (``ReferenceIndex``), in the transaction of `connection`: a store made before
    /// `reference_count` (``PostgresSchema/referenceCountVersion``), or one installing a schema
    /// whose rules group by other fields.
    func indexReferences(schema: Schema, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM reference", logger: logger)
        try await connection.query("DELETE FROM reference_count", logger: logger)
        let index = ReferenceIndex(schema: schema)
        let tables = schema.tables.filter { $0.fields.contains { $0.type == .ref } }.map(\.name)
        var after = ""
        while true {
            var page: [RecordState] = []
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.recordColumns) FROM record
                WHERE id > \(after) AND NOT deleted AND tbl = ANY(\(tables)::text[])
                ORDER BY id LIMIT \(ServerCore.verificationPage)
                """, logger: logger)
            for try await row in rows.decode(RecordRow.self) { page.append(try Self.decode(row)) }
            guard let last = page.last else { return }
            try await write(index.writes(indexing: page, in: schema), on: connection)
            after = last.id
        }
    }

    public func hashes(at seqs: Set<Int64>) async throws -> [Int64: String] {
        try await read { [self] connection in
            var found: [Int64: String] = [:]
            let rows = try await connection.query(
                "SELECT seq, hash FROM log WHERE seq = ANY(\(Array(seqs)))", logger: logger)
            for try await (seq, hash) in rows.decode((Int64, String?).self) { found[seq] = hash }
            return found
        }
    }

    public func logHead() async throws -> LogHead {
        try await read { [self] connection in try await Self.head(on: connection, logger: logger) }
    }

    // MARK: - Checkpoints and rollback reports

    private typealias CheckpointColumns = (Int64, String, String, String, String)

    public func keptCheckpoints() async throws -> [Checkpoint] {
        try await checkpoints(where: "true")
    }

    public func keptCheckpoint(at seq: Int64) async throws -> Checkpoint? {
        try await checkpoints(where: "seq = \(seq)").first
    }

    private func checkpoints(where condition: String) async throws -> [Checkpoint] {
        try await read { [self] connection in
            var found: [Checkpoint] = []
            let rows = try await connection.query(
                """
                SELECT seq, hash, time, public_key, signature FROM checkpoint WHERE \(unescaped: condition) ORDER BY seq
                """, logger: logger)
            for try await row in rows.decode(CheckpointColumns.self) {
                found.append(Checkpoint(seq: row.0, hash: row.1, time: row.2, publicKey: row.3, signature: row.4))
            }
            return found
        }
    }

    public func keep(_ checkpoint: Checkpoint) async throws -> Checkpoint {
        try await transaction { [self] connection in try await save(checkpoint, on: connection) }
        return try await keptCheckpoint(at: checkpoint.seq) ?? checkpoint
    }

    public func keep(_ report: RollbackReport, upTo limit: Int) async throws {
        try await transaction { [self] connection in
            try await connection.query(
                """
                INSERT INTO rollback_report (seq, hash, signed_time, signature, head_seq, store_hash, role, token_id, time)
                SELECT \(report.presented.seq), \(report.presented.hash), \(report.presented.time),
                    \(report.presented.signature), \(report.headSeq), \(report.storeHash), \(report.role.rawValue),
                    \(report.tokenID), \(report.time)
                WHERE (SELECT count(*) FROM rollback_report) < \(limit)
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    public func keptRollbackReports() async throws -> [RollbackReport] {
        try await read { [self] connection in
            var found: [RollbackReport] = []
            let rows = try await connection.query(
                """
                SELECT seq, hash, signed_time, signature, head_seq, store_hash, role, token_id, time
                FROM rollback_report ORDER BY time, seq
                """, logger: logger)
            for try await row in rows.decode(
                (Int64, String, String, String, Int64, String?, String, String, String).self)
            {
                found.append(
                    RollbackReport(
                        presented: Checkpoint(seq: row.0, hash: row.1, time: row.2, publicKey: "", signature: row.3),
                        headSeq: row.4, storeHash: row.5, role: Role(rawValue: row.6) ?? .member, tokenID: row.7,
                        time: row.8))
            }
            return found
        }
    }

    // MARK: - Tokens, conflicts, grants, the schema

    public func token(hash: String) async throws -> TokenLookup? {
        startListening()
        if let token = cache.token(hash: hash) { return token }
        let mark = cache.mark()
        return try await read { [self] connection in
            let (token, head) = try await tokenAndHead(hash: hash, on: connection)
            cache.fill(hash: hash, token: token, head: head, read: mark)
            return token
        }
    }

    /// The token row whose hash is `hash` with its organisation's record, and the head, in one
    /// statement (with the schema version, taken up when another process installed one).
    private func tokenAndHead(hash: String, on connection: PostgresConnection) async throws
        -> (token: TokenLookup?, head: LogHead)
    {
        let rows = try await connection.execute(TokenAndHeadStatement(hash: hash), logger: logger)
        var token: TokenLookup?
        var head = LogHead.empty
        var stored: Int?
        for try await row in rows {
            let (id, role, organisation, created, revoked, table, deleted, seq, headHash, version, personal) = row
            if let id, let role = role.flatMap(Role.init(rawValue:)), let created {
                token = TokenLookup(
                    row: TokenRow(
                        id: id, hash: hash, role: role, organisation: organisation, createdAt: created,
                        revokedAt: revoked, personal: personal ?? false),
                    organisationRecord: table.map {
                        TokenLookup.OrganisationRecord(table: $0, isDeleted: deleted ?? false)
                    })
            }
            if let seq { head = LogHead(seq: seq, hash: headHash ?? LogEntry.genesisHash) }
            stored = version.flatMap(Int.init)
        }
        try await takeUp(stored, on: connection)
        return (token, head)
    }

    public func addToken(_ row: TokenRow) async throws {
        try await transaction { [self] connection in
            try await connection.query(
                """
                INSERT INTO token(id, hash, role, organisation, created_at, revoked_at, personal)
                VALUES (\(row.id), \(row.hash), \(row.role.rawValue), \(row.organisation), \(row.createdAt),
                    \(row.revokedAt), \(row.personal))
                """, logger: logger)
        }
    }

    /// Revokes the token and tells every instance (``CacheEvent/revoked(tokenHash:)``); returns
    /// once no instance can still answer it from its cache: ``InstanceCache/lease`` after the
    /// commit (and a margin), by when every instance has either taken the event in or stopped
    /// trusting its cache.
    public func revokeToken(hash: String, at time: String) async throws -> Bool {
        let revoked = try await transaction { [self] connection in
            let rows = try await connection.query(
                "UPDATE token SET revoked_at = \(time) WHERE hash = \(hash) AND revoked_at IS NULL RETURNING id",
                logger: logger)
            var revoked = false
            for try await _ in rows { revoked = true }
            if revoked {
                let event = CacheEvent.revoked(tokenHash: hash).payload
                try await connection.query("SELECT pg_notify(\(InstanceCache.channel), \(event))", logger: logger)
            }
            return revoked
        }
        if revoked {
            cache.apply(.revoked(tokenHash: hash))
            try await Task.sleep(for: InstanceCache.lease + .milliseconds(50))
        }
        return revoked
    }

    public func conflictRows(includeResolved: Bool) async throws -> [ConflictRow] {
        try await read { [self] connection in
            var found: [ConflictRow] = []
            let rows = try await connection.query(
                """
                SELECT id, tbl, record_id, field, incoming, status, seq FROM conflict
                WHERE \(includeResolved) OR status = 'open' ORDER BY seq, id
                """, logger: logger)
            for try await row in rows.decode(ConflictColumns.self) { found.append(try conflict(row)) }
            return found
        }
    }

    public var instanceCache: InstanceCacheStatus? { cache.status }

    public func openConflictCount() async throws -> Int {
        try await read { [self] connection in
            let rows = try await connection.query("SELECT count(*) FROM conflict WHERE status = 'open'", logger: logger)
            for try await (count) in rows.decode(Int64.self) { return Int(count) }
            return 0
        }
    }

    public func withdrawnGrants() async throws -> [WithdrawnGrant] {
        try await read { [self] connection in
            var found: [WithdrawnGrant] = []
            let rows = try await connection.query(
                """
                SELECT r.tbl, w.record_id, w.seq FROM withdrawn_grant w JOIN record r ON r.id = w.record_id
                ORDER BY w.seq, w.record_id
                """, logger: logger)
            for try await (table, id, seq) in rows.decode((String, String, Int64).self) {
                found.append(WithdrawnGrant(table: table, recordID: id, seq: seq))
            }
            return found
        }
    }

    public func currentSchema() async throws -> Schema {
        try await read { [self] connection in try await refreshSchema(on: connection) }
        return schema
    }

    public func install(_ make: @escaping @Sendable (Merge) -> SchemaWork) async throws -> SchemaWork {
        let done = try await writeTransaction { [self] connection, head in
            let done = try await run(make(merge), at: head, on: connection)
            guard let installed = done.installed?.schema else { return done }
            if done.reindexesReferences { try await indexReferences(schema: installed, on: connection) }
            try await connection.query(
                """
                INSERT INTO server_meta(key, value) VALUES ('schema', \(installed.json.serialized())),
                    ('schema_version', \(String(installed.version)))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """, logger: logger)
            try await refreshSchema(on: connection)
            try await connection.query(
                "SELECT pg_notify(\(InstanceCache.channel), \(CacheEvent.schema.payload))", logger: logger)
            return done
        }
        tellCache(done.writes)
        return done
    }
}

/// ``PostgresServerStore``'s statement of every pull and every authentication: the token row
/// whose hash is `$1` with its organisation's record, the head, and the schema version — prepared
/// once a connection, not parsed again at each request.
private struct TokenAndHeadStatement: PostgresPreparedStatement {
    typealias Row = (String?, String?, String?, String?, String?, String?, Bool?, Int64?, String?, String?, Bool?)

    /// Short and fixed (the default, the type's full name, may pass PostgreSQL's 63 bytes).
    static let name = "tandem_token_and_head"

    static let sql = """
        SELECT t.id, t.role, t.organisation, t.created_at, t.revoked_at, r.tbl, r.deleted, l.seq, l.hash,
            (SELECT value FROM server_meta WHERE key = 'schema_version'), t.personal
        FROM (SELECT 1) one
            LEFT JOIN token t ON t.hash = $1
            LEFT JOIN record r ON r.id = t.organisation
            LEFT JOIN (SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1) l ON true
        """

    var hash: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(hash)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// A member's pull candidates (``PostgresServerStore/memberCandidates(after:upTo:limit:viewer:on:)``)
/// — prepared once a connection: planned at every request, this statement cost PostgreSQL more
/// than running it (3.5 ms a pull under the load test, docs/benchmarks.md). Each feed's branch
/// reads its entries' rows (with their openings) itself: found by seq first and read again after,
/// every entry cost two more index probes. Whether the organisation reads a record is a join,
/// not `EXISTS`: the planner ran that test twice a row (110 buffers for 8 entries, now 86).
private struct MemberCandidatesStatement: PostgresPreparedStatement {
    typealias Row = PostgresServerStore.CandidateColumns

    static let name = "tandem_member_candidates"

    /// `$1` the viewer, `$2` since, `$3` the head, `$4` the limit, `$5` everyone's feed, `$6` the
    /// tables every token reads, `$7` the pseudo-tables.
    static let sql = """
        WITH gap AS (SELECT EXISTS (SELECT 1 FROM feed_gap WHERE organisation = $1 AND seq > $2) AS found)
        SELECT * FROM (
            (SELECT * FROM (
                (SELECT \(PostgresServerStore.entryColumns)
                FROM pull_feed f JOIN log l ON l.seq = f.seq LEFT JOIN record r ON r.id = l.record_id AND r.tbl = l.tbl
                WHERE f.organisation = $5 AND f.seq > $2 AND f.seq <= $3
                ORDER BY f.seq LIMIT $4)
                UNION ALL
                (SELECT \(PostgresServerStore.entryColumns)
                FROM pull_feed f JOIN log l ON l.seq = f.seq LEFT JOIN record r ON r.id = l.record_id AND r.tbl = l.tbl
                    LEFT JOIN visibility v ON v.record_id = l.record_id AND v.organisation = $1
                WHERE f.organisation = $1 AND f.seq > $2 AND f.seq <= $3 AND (
                    v.record_id IS NOT NULL OR (r.id IS NULL AND (l.entry::jsonb #>> '{author,organisation}') = $1))
                ORDER BY f.seq LIMIT $4)
                ORDER BY seq LIMIT $4
            ) k WHERE NOT (SELECT found FROM gap))
            UNION ALL
            (SELECT \(PostgresServerStore.entryColumns)
            FROM log l LEFT JOIN record r ON r.id = l.record_id AND r.tbl = l.tbl
            WHERE (SELECT found FROM gap) AND l.seq > $2 AND l.seq <= $3 AND l.tbl <> ALL($7) AND (
                l.tbl = ANY($6)
                OR EXISTS (SELECT 1 FROM visibility v WHERE v.record_id = l.record_id AND v.organisation = $1)
                OR (r.id IS NULL AND (l.entry::jsonb #>> '{author,organisation}') = $1))
            ORDER BY l.seq LIMIT $4)
            UNION ALL
            (\(PostgresServerStore.markerSelect) WHERE m.organisation = $1 AND m.seq > $2 AND m.seq <= $3
            ORDER BY m.seq, m.record_id LIMIT $4)
        ) c ORDER BY c.source = 'entry' DESC, c.seq, c.record_id
        """

    var viewer: String
    var since: Int64
    var head: Int64
    var limit: Int64
    var open: [String]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 7)
        bindings.append(viewer)
        bindings.append(since)
        bindings.append(head)
        bindings.append(limit)
        bindings.append(FeedRow.everyone)
        bindings.append(open)
        bindings.append(SchemaRegistry.pseudoTables)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
