import PostgresNIO
public import TandemProtocol

/// The PostgreSQL store as an adapter of the core (``StoreWork``): a batch's facts, one
/// `= ANY($1)` query a kind of fact, and its writes, one `UNNEST` statement a table, in one
/// transaction behind the writer's lock.
extension PostgresServerStore {
    public func perform<Work: StoreWork>(_ make: @escaping @Sendable (Merge) -> Work) async throws -> Work {
        try await transaction { [self] connection in
            let head = try await beginWriting(on: connection)
            return try await run(make(merge), at: head, on: connection)
        }
    }

    /// Runs `work` in the transaction of `connection`, which holds the writer's lock.
    func run<Work: StoreWork>(_ work: Work, at head: LogHead? = nil, on connection: PostgresConnection) async throws
        -> Work
    {
        var work = work
        var start = head
        if start == nil { start = try await Self.head(on: connection, logger: logger) }
        var request = try work.start(at: start ?? .empty)
        while let asked = request {
            request = try work.advance(with: try await facts(for: asked, on: connection))
        }
        try await write(work.writes, on: connection)
        return work
    }

    public func registrations(of devices: Set<String>) async throws -> [String: KnownDevice] {
        try await read { [self] connection in
            var found: [String: KnownDevice] = [:]
            let rows = try await connection.query(
                "SELECT id, organisation, role, public_key FROM device WHERE id = ANY(\(Array(devices)))",
                logger: logger)
            for try await (id, organisation, role, key) in rows.decode((String, String?, String, String).self) {
                found[id] = KnownDevice(
                    organisation: organisation, role: Role(rawValue: role) ?? .member, publicKey: key)
            }
            return found
        }
    }

    public func facts(for request: FactRequest) async throws -> Facts {
        try await read { [self] connection in try await facts(for: request, on: connection) }
    }

    // MARK: - Facts

    /// The record columns ``record(_:)`` decodes, in its order.
    static let recordColumns = "id, tbl, version, deleted, state, values_json, last_seq"
    typealias RecordRow = (String, String, Int64, Bool, String, String?, Int64)

    /// The record a row holds, from the cache while its `last_seq` is the row's.
    func record(_ row: RecordRow) throws -> RecordState {
        if let cached = records.record(row.0, lastSeq: row.6) { return cached }
        let state = try Self.decode(row)
        records.keep(state, lastSeq: row.6)
        return state
    }

    /// The record a row holds, decoded.
    static func decode(_ row: RecordRow) throws -> RecordState {
        RecordState(
            table: row.1, id: row.0, version: row.2, isDeleted: row.3, isErased: RecordForm.isErased(state: row.4),
            fields: try RecordForm.decode(state: row.4, values: row.5))
    }

    func facts(for request: FactRequest, on connection: PostgresConnection) async throws -> Facts {
        var facts = Facts()
        if !request.records.isEmpty {
            for id in request.records { facts.records.updateValue(nil, forKey: id) }
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.recordColumns) FROM record WHERE id = ANY(\(Array(request.records)))",
                logger: logger)
            for try await row in rows.decode(RecordRow.self) { facts.records[row.0] = try record(row) }
        }
        if !request.readers.isEmpty {
            for id in request.readers { facts.readers[id] = [] }
            let rows = try await connection.query(
                "SELECT record_id, organisation FROM visibility WHERE record_id = ANY(\(Array(request.readers)))",
                logger: logger)
            for try await (id, organisation) in rows.decode((String, String).self) {
                facts.readers[id, default: []].insert(organisation)
            }
        }
        if !request.grants.isEmpty {
            for id in request.grants { facts.grants[id] = [:] }
            let rows = try await connection.query(
                "SELECT record_id, organisation, count FROM grant_count WHERE record_id = ANY(\(Array(request.grants)))",
                logger: logger)
            for try await (id, organisation, count) in rows.decode((String, String, Int64).self) {
                facts.grants[id, default: [:]][organisation] = Int(count)
            }
        }
        if !request.withdrawn.isEmpty {
            for id in request.withdrawn { facts.withdrawn[id] = false }
            let rows = try await connection.query(
                "SELECT record_id FROM withdrawn_grant WHERE record_id = ANY(\(Array(request.withdrawn)))",
                logger: logger)
            for try await (id) in rows.decode(String.self) { facts.withdrawn[id] = true }
        }
        if !request.referenceCounts.isEmpty {
            // Whether a record is referred to at all: counting stops past what a batch could remove.
            let rows = try await connection.query(
                """
                SELECT t.id, (SELECT count(*) FROM (SELECT 1 FROM reference r WHERE r.target = t.id LIMIT 100000) x)
                FROM UNNEST(\(Array(request.referenceCounts))::text[]) AS t(id)
                """, logger: logger)
            for try await (id, count) in rows.decode((String, Int64).self) { facts.referenceCounts[id] = Int(count) }
        }
        if !request.uniques.isEmpty {
            let keys = Array(request.uniques)
            for key in keys { facts.uniques.updateValue(nil, forKey: key) }
            let rows = try await connection.query(
                """
                SELECT u.tbl, u.field, u.value, u.record_id FROM unique_value u
                JOIN UNNEST(\(keys.map(\.table))::text[], \(keys.map(\.field))::text[], \(keys.map(\.value))::text[])
                    AS k(tbl, field, value)
                    ON u.tbl = k.tbl COLLATE "C" AND u.field = k.field COLLATE "C" AND u.value = k.value COLLATE "C"
                """, logger: logger)
            for try await (table, field, value, id) in rows.decode((String, String, String, String).self) {
                facts.uniques[UniqueKey(table: table, field: field, value: value)] = id
            }
        }
        if !request.groups.isEmpty {
            let keys = Array(request.groups)
            for key in keys { facts.groups[key] = [] }
            let rows = try await connection.query(
                """
                SELECT k.tbl, k.field, k.target, g.id, g.tbl, g.version, g.deleted, g.state, g.values_json, g.last_seq
                FROM UNNEST(\(keys.map(\.table))::text[], \(keys.map(\.field))::text[], \(keys.map(\.target))::text[])
                    AS k(tbl, field, target)
                JOIN reference r ON r.target = k.target COLLATE "C" AND r.field = k.field COLLATE "C"
                JOIN record g ON g.id = r.source AND g.tbl = k.tbl COLLATE "C" AND NOT g.deleted
                """, logger: logger)
            typealias GroupRow = (String, String, String, String, String, Int64, Bool, String, String?, Int64)
            for try await row in rows.decode(GroupRow.self) {
                let member = try record((row.3, row.4, row.5, row.6, row.7, row.8, row.9))
                facts.records[member.id] = member
                facts.groups[GroupKey(table: row.0, field: row.1, target: row.2), default: []].append(member.id)
            }
        }
        if !request.changeIDs.isEmpty {
            for id in request.changeIDs { facts.changeIDs.updateValue(nil, forKey: id) }
            let rows = try await connection.query(
                "SELECT change_id, seq, entry FROM log WHERE change_id = ANY(\(Array(request.changeIDs))) AND signed",
                logger: logger)
            for try await (id, seq, line) in rows.decode((String, Int64, String).self) {
                facts.changeIDs[id] = HistoryLine(seq: seq, line: line)
            }
        }
        if !request.conflicts.isEmpty {
            for id in request.conflicts { facts.conflicts.updateValue(nil, forKey: id) }
            let rows = try await connection.query(
                """
                SELECT id, tbl, record_id, field, incoming, status, seq FROM conflict
                WHERE id = ANY(\(Array(request.conflicts)))
                """, logger: logger)
            for try await row in rows.decode(ConflictColumns.self) { facts.conflicts[row.0] = try conflict(row) }
        }
        if !request.devices.isEmpty {
            for id in request.devices { facts.devices.updateValue(nil, forKey: id) }
            let rows = try await connection.query(
                "SELECT id, organisation, role, public_key, seq FROM device WHERE id = ANY(\(Array(request.devices)))",
                logger: logger)
            for try await (id, organisation, role, key, seq) in rows.decode(
                (String, String?, String, String, Int64).self)
            {
                facts.devices[id] = DeviceRow(
                    id: id, organisation: organisation, role: Role(rawValue: role) ?? .member, publicKey: key, seq: seq)
            }
        }
        return facts
    }

    typealias ConflictColumns = (String, String, String, String, String, String, Int64)

    func conflict(_ row: ConflictColumns) throws -> ConflictRow {
        ConflictRow(
            id: row.0, table: row.1, recordID: row.2, field: row.3, incoming: try JSONValue.parse(row.4), seq: row.6,
            isOpen: row.5 == "open")
    }

    // MARK: - Writes

    /// Writes a batch: one statement a table (none for a table the batch does not touch).
    func write(_ writes: BatchWrites, on connection: PostgresConnection) async throws {
        let log = writes.log
        if !log.isEmpty {
            try await connection.query(
                """
                INSERT INTO log(seq, change_id, time, tbl, record_id, entry, prev_hash, hash, signed, item)
                SELECT * FROM UNNEST(\(log.map(\.seq))::bigint[], \(log.map(\.changeID))::text[],
                    \(log.map(\.time))::text[], \(log.map(\.table))::text[], \(log.map(\.recordID))::text[],
                    \(log.map(\.line))::text[], \(log.map(\.prevHash))::text[], \(log.map(\.hash))::text[],
                    \(log.map(\.isSigned))::boolean[], \(log.map(\.item))::text[])
                """, logger: logger)
        }
        for checkpoint in writes.checkpoints { try await save(checkpoint, on: connection) }
        if !writes.records.isEmpty {
            let rows = Array(writes.records.values)
            let kept = rows.map { RecordForm.encode($0.state.fields, isErased: $0.state.isErased) }
            try await connection.query(
                """
                INSERT INTO record(id, tbl, version, deleted, last_seq, state, values_json)
                SELECT * FROM UNNEST(\(rows.map(\.state.id))::text[], \(rows.map(\.state.table))::text[],
                    \(rows.map(\.state.version))::bigint[], \(rows.map(\.state.isDeleted))::boolean[],
                    \(rows.map(\.seq))::bigint[], \(kept.map(\.state))::text[], \(kept.map(\.values))::text[])
                ON CONFLICT (id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted,
                    last_seq = excluded.last_seq, state = excluded.state, values_json = excluded.values_json
                """, logger: logger)
        }
        let held = writes.references.filter(\.value).map(\.key)
        if !held.isEmpty {
            try await connection.query(
                """
                INSERT INTO reference(target, source, field)
                SELECT * FROM UNNEST(\(held.map(\.target))::text[], \(held.map(\.source))::text[],
                    \(held.map(\.field))::text[])
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
        let dropped = writes.references.filter { !$0.value }.map(\.key)
        if !dropped.isEmpty {
            try await connection.query(
                """
                DELETE FROM reference r USING UNNEST(\(dropped.map(\.target))::text[], \(dropped.map(\.source))::text[],
                    \(dropped.map(\.field))::text[]) AS d(target, source, field)
                WHERE r.target = d.target COLLATE "C" AND r.source = d.source COLLATE "C"
                    AND r.field = d.field COLLATE "C"
                """, logger: logger)
        }
        let holders = writes.uniques.compactMap { key, id in id.map { (key, $0) } }
        if !holders.isEmpty {
            try await connection.query(
                """
                INSERT INTO unique_value(tbl, field, value, record_id)
                SELECT * FROM UNNEST(\(holders.map(\.0.table))::text[], \(holders.map(\.0.field))::text[],
                    \(holders.map(\.0.value))::text[], \(holders.map(\.1))::text[])
                ON CONFLICT (tbl, field, value) DO UPDATE SET record_id = excluded.record_id
                """, logger: logger)
        }
        let freed = writes.uniques.filter { $0.value == nil }.map(\.key)
        if !freed.isEmpty {
            try await connection.query(
                """
                DELETE FROM unique_value u USING UNNEST(\(freed.map(\.table))::text[], \(freed.map(\.field))::text[],
                    \(freed.map(\.value))::text[]) AS d(tbl, field, value)
                WHERE u.tbl = d.tbl COLLATE "C" AND u.field = d.field COLLATE "C" AND u.value = d.value COLLATE "C"
                """, logger: logger)
        }
        if !writes.restoredGrants.isEmpty {
            try await connection.query(
                "DELETE FROM withdrawn_grant WHERE record_id = ANY(\(Array(writes.restoredGrants)))", logger: logger)
        }
        let deltas = writes.grantDeltas.flatMap { id, changes in
            changes.filter { $0.value != 0 }.map { (id: id, organisation: $0.key, delta: Int64($0.value)) }
        }
        if !deltas.isEmpty {
            try await connection.query(
                """
                INSERT INTO grant_count(record_id, organisation, count)
                SELECT * FROM UNNEST(\(deltas.map(\.id))::text[], \(deltas.map(\.organisation))::text[],
                    \(deltas.map(\.delta))::bigint[])
                ON CONFLICT (record_id, organisation) DO UPDATE SET count = grant_count.count + excluded.count
                """, logger: logger)
            let lowered = deltas.filter { $0.delta < 0 }
            if !lowered.isEmpty {
                try await connection.query(
                    """
                    DELETE FROM grant_count g USING UNNEST(\(lowered.map(\.id))::text[],
                        \(lowered.map(\.organisation))::text[]) AS d(record_id, organisation)
                    WHERE g.record_id = d.record_id COLLATE "C" AND g.organisation = d.organisation COLLATE "C"
                        AND g.count <= 0
                    """, logger: logger)
            }
        }
        let sight = writes.visibility.flatMap { id, changes in
            changes.map { (id: id, organisation: $0.key, sees: $0.value) }
        }
        let sees = sight.filter(\.sees)
        if !sees.isEmpty {
            try await connection.query(
                """
                INSERT INTO visibility(record_id, organisation)
                SELECT * FROM UNNEST(\(sees.map(\.id))::text[], \(sees.map(\.organisation))::text[])
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
        let unsees = sight.filter { !$0.sees }
        if !unsees.isEmpty {
            try await connection.query(
                """
                DELETE FROM visibility v USING UNNEST(\(unsees.map(\.id))::text[], \(unsees.map(\.organisation))::text[])
                    AS d(record_id, organisation)
                WHERE v.record_id = d.record_id COLLATE "C" AND v.organisation = d.organisation COLLATE "C"
                """, logger: logger)
        }
        if !writes.markers.isEmpty {
            // The last word on a (organisation, seq, record) holds, as SQLite's INSERT OR REPLACE has it.
            var markers: [MarkerKey: MarkerRow] = [:]
            for row in writes.markers {
                markers[MarkerKey(organisation: row.organisation, seq: row.seq, recordID: row.recordID)] = row
            }
            let rows = Array(markers.values)
            try await connection.query(
                """
                INSERT INTO visibility_marker(organisation, seq, record_id, kind)
                SELECT * FROM UNNEST(\(rows.map(\.organisation))::text[], \(rows.map(\.seq))::bigint[],
                    \(rows.map(\.recordID))::text[], \(rows.map(\.kind.rawValue))::text[])
                ON CONFLICT (organisation, seq, record_id) DO UPDATE SET kind = excluded.kind
                """, logger: logger)
        }
        for row in writes.devices {
            try await connection.query(
                """
                INSERT INTO device(id, organisation, role, public_key, seq)
                VALUES (\(row.id), \(row.organisation), \(row.role.rawValue), \(row.publicKey), \(row.seq))
                """, logger: logger)
        }
        if !writes.resolvedConflicts.isEmpty {
            let resolved = Array(writes.resolvedConflicts)
            try await connection.query(
                """
                UPDATE conflict c SET status = 'resolved', resolved_seq = d.seq
                FROM UNNEST(\(resolved.map(\.key))::text[], \(resolved.map(\.value))::bigint[]) AS d(id, seq)
                WHERE c.id = d.id COLLATE "C"
                """, logger: logger)
        }
        let conflicts = writes.conflicts
        if !conflicts.isEmpty {
            try await connection.query(
                """
                INSERT INTO conflict(id, tbl, record_id, field, incoming, status, seq)
                SELECT u.id, u.tbl, u.record_id, u.field, u.incoming, 'open', u.seq
                FROM UNNEST(\(conflicts.map(\.id))::text[], \(conflicts.map(\.table))::text[],
                    \(conflicts.map(\.recordID))::text[], \(conflicts.map(\.field))::text[],
                    \(conflicts.map { $0.incoming.serialized() })::text[], \(conflicts.map(\.seq))::bigint[])
                    AS u(id, tbl, record_id, field, incoming, seq)
                """, logger: logger)
        }
        let openings = writes.openings
        if !openings.isEmpty {
            try await connection.query(
                """
                INSERT INTO personal_value(commitment, seq, tbl, record_id, salt, value)
                SELECT * FROM UNNEST(\(openings.map(\.commitment))::text[], \(openings.map(\.seq))::bigint[],
                    \(openings.map(\.table))::text[], \(openings.map(\.recordID))::text[],
                    \(openings.map(\.salt))::text[], \(openings.map(\.value))::text[])
                ON CONFLICT (commitment) DO NOTHING
                """, logger: logger)
        }
        for erasure in writes.erasures {
            try await connection.query(
                "DELETE FROM personal_value WHERE record_id = \(erasure.recordID)", logger: logger)
            try await connection.query(
                """
                UPDATE conflict SET incoming = 'null', status = 'resolved', resolved_seq = coalesce(resolved_seq, \(erasure.seq))
                WHERE record_id = \(erasure.recordID) AND field = ANY(\(Array(erasure.fields))::text[])
                """, logger: logger)
        }
    }

    func save(_ checkpoint: Checkpoint, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO checkpoint(seq, hash, time, public_key, signature)
            VALUES (\(checkpoint.seq), \(checkpoint.hash), \(checkpoint.time), \(checkpoint.publicKey),
                \(checkpoint.signature))
            ON CONFLICT (seq) DO NOTHING
            """, logger: logger)
    }
}

/// A visibility marker's key.
private struct MarkerKey: Hashable {
    var organisation: String
    var seq: Int64
    var recordID: String
}
