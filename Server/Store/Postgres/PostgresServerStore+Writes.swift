import PostgresNIO
import TandemProtocol

/// A batch's writes in one statement: an `UNNEST` a table, each a data-modifying `WITH` part.
///
/// The parts see one snapshot and never touch the same row twice: each map of ``BatchWrites``
/// holds one word a key (a reference held or dropped, a unique value held or freed), a conflict
/// is either resolved (an existing one) or opened (a new id). What must see an earlier part's
/// effect follows in statements of its own: grant and reference counts brought to zero, erasures (and a
/// device's registration, whose organisation may be NULL).
extension PostgresServerStore {
    func write(_ writes: BatchWrites, on connection: PostgresConnection) async throws {
        for sent in send(writes, on: connection) { _ = try await sent.get() }
    }

    /// Sends the batch's statements without waiting for their answers: PostgreSQL runs them in
    /// the order sent, each seeing the ones before, and one that fails aborts the transaction (a
    /// COMMIT sent behind it rolls back). The caller awaits them.
    func send(_ writes: BatchWrites, on connection: PostgresConnection) -> [EventLoopFuture<PostgresQueryResult>] {
        var sent: [EventLoopFuture<PostgresQueryResult>] = []
        var statement = BoundStatement()
        var parts: [String] = []
        /// `UNNEST` of `columns` (each an array and its element type), as `d(names…)`.
        func unnest(_ columns: [(placeholder: String, type: String)], as names: String) -> String {
            "UNNEST(\(columns.map { "\($0.placeholder)::\($0.type)[]" }.joined(separator: ", "))) AS d(\(names))"
        }
        let log = writes.log
        if !log.isEmpty {
            // Each entry's openings in its row (``PostgresSchema/foldOpenings``); "" for none (an
            // array of optionals does not bind).
            let openings = Dictionary(grouping: writes.openings, by: \.seq).mapValues { rows in
                Self.openings(rows).json.serialized()
            }
            parts.append(
                """
                INSERT INTO log(seq, change_id, time, tbl, record_id, entry, prev_hash, hash, signed, item, openings)
                SELECT seq, change_id, time, tbl, record_id, entry, prev_hash, hash, signed, item, NULLIF(openings, '')
                FROM \(unnest([
                    (statement.bind(log.map(\.seq)), "bigint"), (statement.bind(log.map(\.changeID)), "text"),
                    (statement.bind(log.map(\.time)), "text"), (statement.bind(log.map(\.table)), "text"),
                    (statement.bind(log.map(\.recordID)), "text"), (statement.bind(log.map(\.line)), "text"),
                    (statement.bind(log.map(\.prevHash)), "text"), (statement.bind(log.map(\.hash)), "text"),
                    (statement.bind(log.map(\.isSigned)), "boolean"), (statement.bind(log.map(\.item)), "text"),
                    (statement.bind(log.map { openings[$0.seq] ?? "" }), "text"),
                ], as: "seq, change_id, time, tbl, record_id, entry, prev_hash, hash, signed, item, openings"))
                """)
        }
        for (table, rows) in [("pull_feed", writes.feed), ("feed_gap", writes.feedGaps)] where !rows.isEmpty {
            parts.append(
                """
                INSERT INTO \(table)(organisation, seq)
                SELECT * FROM \(unnest([
                    (statement.bind(rows.map(\.organisation)), "text"), (statement.bind(rows.map(\.seq)), "bigint"),
                ], as: "organisation, seq"))
                ON CONFLICT DO NOTHING
                """)
        }
        let checkpoints = writes.checkpoints
        if !checkpoints.isEmpty {
            parts.append(
                """
                INSERT INTO checkpoint(seq, hash, time, public_key, signature)
                SELECT * FROM \(unnest([
                    (statement.bind(checkpoints.map(\.seq)), "bigint"), (statement.bind(checkpoints.map(\.hash)), "text"),
                    (statement.bind(checkpoints.map(\.time)), "text"),
                    (statement.bind(checkpoints.map(\.publicKey)), "text"),
                    (statement.bind(checkpoints.map(\.signature)), "text"),
                ], as: "seq, hash, time, public_key, signature"))
                ON CONFLICT (seq) DO NOTHING
                """)
        }
        if !writes.records.isEmpty {
            let rows = Array(writes.records.values)
            let kept = rows.map { RecordForm.encode($0.state.fields, isErased: $0.state.isErased) }
            parts.append(
                """
                INSERT INTO record(id, tbl, version, deleted, last_seq, state, values_json)
                SELECT * FROM \(unnest([
                    (statement.bind(rows.map(\.state.id)), "text"), (statement.bind(rows.map(\.state.table)), "text"),
                    (statement.bind(rows.map(\.state.version)), "bigint"),
                    (statement.bind(rows.map(\.state.isDeleted)), "boolean"), (statement.bind(rows.map(\.seq)), "bigint"),
                    (statement.bind(kept.map(\.state)), "text"), (statement.bind(kept.map(\.values)), "text"),
                ], as: "id, tbl, version, deleted, last_seq, state, values_json"))
                ON CONFLICT (id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted,
                    last_seq = excluded.last_seq, state = excluded.state, values_json = excluded.values_json
                """)
        }
        let held = writes.references.filter(\.value).map(\.key)
        if !held.isEmpty {
            parts.append(
                """
                INSERT INTO reference(target, source, field)
                SELECT * FROM \(unnest([
                    (statement.bind(held.map(\.target)), "text"), (statement.bind(held.map(\.source)), "text"),
                    (statement.bind(held.map(\.field)), "text"),
                ], as: "target, source, field"))
                ON CONFLICT DO NOTHING
                """)
        }
        let dropped = writes.references.filter { !$0.value }.map(\.key)
        if !dropped.isEmpty {
            parts.append(
                """
                DELETE FROM reference r USING \(unnest([
                    (statement.bind(dropped.map(\.target)), "text"), (statement.bind(dropped.map(\.source)), "text"),
                    (statement.bind(dropped.map(\.field)), "text"),
                ], as: "target, source, field"))
                WHERE r.target = d.target COLLATE "C" AND r.source = d.source COLLATE "C"
                    AND r.field = d.field COLLATE "C"
                """)
        }
        let holders = writes.uniques.compactMap { key, id in id.map { (key, $0) } }
        if !holders.isEmpty {
            parts.append(
                """
                INSERT INTO unique_value(tbl, field, value, record_id)
                SELECT * FROM \(unnest([
                    (statement.bind(holders.map(\.0.table)), "text"), (statement.bind(holders.map(\.0.field)), "text"),
                    (statement.bind(holders.map(\.0.value)), "text"), (statement.bind(holders.map(\.1)), "text"),
                ], as: "tbl, field, value, record_id"))
                ON CONFLICT (tbl, field, value) DO UPDATE SET record_id = excluded.record_id
                """)
        }
        let freed = writes.uniques.filter { $0.value == nil }.map(\.key)
        if !freed.isEmpty {
            parts.append(
                """
                DELETE FROM unique_value u USING \(unnest([
                    (statement.bind(freed.map(\.table)), "text"), (statement.bind(freed.map(\.field)), "text"),
                    (statement.bind(freed.map(\.value)), "text"),
                ], as: "tbl, field, value"))
                WHERE u.tbl = d.tbl COLLATE "C" AND u.field = d.field COLLATE "C" AND u.value = d.value COLLATE "C"
                """)
        }
        if !writes.restoredGrants.isEmpty {
            parts.append(
                "DELETE FROM withdrawn_grant WHERE record_id = ANY(\(statement.bind(Array(writes.restoredGrants))))")
        }
        let deltas = writes.grantDeltas.flatMap { id, changes in
            changes.filter { $0.value != 0 }.map { (id: id, organisation: $0.key, delta: Int64($0.value)) }
        }
        if !deltas.isEmpty {
            parts.append(
                """
                INSERT INTO grant_count(record_id, organisation, count)
                SELECT * FROM \(unnest([
                    (statement.bind(deltas.map(\.id)), "text"), (statement.bind(deltas.map(\.organisation)), "text"),
                    (statement.bind(deltas.map(\.delta)), "bigint"),
                ], as: "record_id, organisation, count"))
                ON CONFLICT (record_id, organisation) DO UPDATE SET count = grant_count.count + excluded.count
                """)
        }
        let counted = writes.referenceCountDeltas.filter { $0.value != 0 }.map {
            (target: $0.key, delta: Int64($0.value))
        }
        if !counted.isEmpty {
            parts.append(
                """
                INSERT INTO reference_count(target, count)
                SELECT * FROM \(unnest([
                    (statement.bind(counted.map(\.target)), "text"), (statement.bind(counted.map(\.delta)), "bigint"),
                ], as: "target, count"))
                ON CONFLICT (target) DO UPDATE SET count = reference_count.count + excluded.count
                """)
        }
        let sight = writes.visibility.flatMap { id, changes in
            changes.map { (id: id, organisation: $0.key, sees: $0.value) }
        }
        let sees = sight.filter(\.sees)
        if !sees.isEmpty {
            parts.append(
                """
                INSERT INTO visibility(record_id, organisation)
                SELECT * FROM \(unnest([
                    (statement.bind(sees.map(\.id)), "text"), (statement.bind(sees.map(\.organisation)), "text"),
                ], as: "record_id, organisation"))
                ON CONFLICT DO NOTHING
                """)
        }
        let unsees = sight.filter { !$0.sees }
        if !unsees.isEmpty {
            parts.append(
                """
                DELETE FROM visibility v USING \(unnest([
                    (statement.bind(unsees.map(\.id)), "text"), (statement.bind(unsees.map(\.organisation)), "text"),
                ], as: "record_id, organisation"))
                WHERE v.record_id = d.record_id COLLATE "C" AND v.organisation = d.organisation COLLATE "C"
                """)
        }
        if !writes.markers.isEmpty {
            // The last word on a (organisation, seq, record) holds, as SQLite's INSERT OR REPLACE has it.
            var markers: [MarkerKey: MarkerRow] = [:]
            for row in writes.markers {
                markers[MarkerKey(organisation: row.organisation, seq: row.seq, recordID: row.recordID)] = row
            }
            let rows = Array(markers.values)
            parts.append(
                """
                INSERT INTO visibility_marker(organisation, seq, record_id, kind)
                SELECT * FROM \(unnest([
                    (statement.bind(rows.map(\.organisation)), "text"), (statement.bind(rows.map(\.seq)), "bigint"),
                    (statement.bind(rows.map(\.recordID)), "text"), (statement.bind(rows.map(\.kind.rawValue)), "text"),
                ], as: "organisation, seq, record_id, kind"))
                ON CONFLICT (organisation, seq, record_id) DO UPDATE SET kind = excluded.kind
                """)
        }
        if !writes.resolvedConflicts.isEmpty {
            let resolved = Array(writes.resolvedConflicts)
            parts.append(
                """
                UPDATE conflict c SET status = 'resolved', resolved_seq = d.seq
                FROM \(unnest([
                    (statement.bind(resolved.map(\.key)), "text"), (statement.bind(resolved.map(\.value)), "bigint"),
                ], as: "id, seq"))
                WHERE c.id = d.id COLLATE "C"
                """)
        }
        let conflicts = writes.conflicts
        if !conflicts.isEmpty {
            parts.append(
                """
                INSERT INTO conflict(id, tbl, record_id, field, incoming, status, seq)
                SELECT d.id, d.tbl, d.record_id, d.field, d.incoming, 'open', d.seq
                FROM \(unnest([
                    (statement.bind(conflicts.map(\.id)), "text"), (statement.bind(conflicts.map(\.table)), "text"),
                    (statement.bind(conflicts.map(\.recordID)), "text"), (statement.bind(conflicts.map(\.field)), "text"),
                    (statement.bind(conflicts.map { $0.incoming.serialized() }), "text"),
                    (statement.bind(conflicts.map(\.seq)), "bigint"),
                ], as: "id, tbl, record_id, field, incoming, seq"))
                """)
        }
        // What the other instances' caches must learn (``CacheEvent``), sent when this commits.
        let told = CacheEvent.of(writes).map { "pg_notify('\(InstanceCache.channel)', \(statement.bind($0.payload)))" }
        if parts.count == 1 && told.isEmpty {
            sent.append(connection.query(statement.query(parts[0]), logger: logger))
        } else if !parts.isEmpty {
            let named = parts.enumerated().map { index, part in "w\(index) AS (\(part))" }
            let last = told.isEmpty ? "1" : told.joined(separator: ", ")
            sent.append(
                connection.query(
                    statement.query("WITH \(named.joined(separator: ",\n")) SELECT \(last)"), logger: logger))
        }
        let lowered = deltas.filter { $0.delta < 0 }
        if !lowered.isEmpty {
            sent.append(
                connection.query(
                    """
                    DELETE FROM grant_count g USING UNNEST(\(lowered.map(\.id))::text[],
                        \(lowered.map(\.organisation))::text[]) AS d(record_id, organisation)
                    WHERE g.record_id = d.record_id COLLATE "C" AND g.organisation = d.organisation COLLATE "C"
                        AND g.count <= 0
                    """, logger: logger))
        }
        let uncounted = counted.filter { $0.delta < 0 }.map(\.target)
        if !uncounted.isEmpty {
            sent.append(
                connection.query(
                    "DELETE FROM reference_count WHERE target = ANY(\(uncounted)::text[]) AND count <= 0",
                    logger: logger))
        }
        // A device's organisation may be NULL, which an array bind cannot hold: a statement a
        // registration (rare: one a `POST /v1/devices`).
        for row in writes.devices {
            sent.append(
                connection.query(
                    """
                    INSERT INTO device(id, organisation, role, public_key, seq)
                    VALUES (\(row.id), \(row.organisation), \(row.role.rawValue), \(row.publicKey), \(row.seq))
                    """, logger: logger))
        }
        for erasure in writes.erasures {
            sent.append(
                connection.query(
                    "UPDATE log SET openings = NULL WHERE record_id = \(erasure.recordID) AND openings IS NOT NULL",
                    logger: logger))
            sent.append(
                connection.query(
                    """
                    UPDATE conflict SET incoming = 'null', status = 'resolved', resolved_seq = coalesce(resolved_seq, \(erasure.seq))
                    WHERE record_id = \(erasure.recordID) AND field = ANY(\(Array(erasure.fields))::text[])
                    """, logger: logger))
        }
        return sent
    }
}

/// A visibility marker's key.
private struct MarkerKey: Hashable {
    var organisation: String
    var seq: Int64
    var recordID: String
}
