import PostgresNIO
public import TandemProtocol

/// The PostgreSQL store as an adapter of the core (``StoreWork``): a batch's facts, one
/// statement a round (a `SELECT` a kind of fact), and its writes, one statement (an `UNNEST` a
/// table), in one transaction behind the writer's lock.
extension PostgresServerStore {
    public func perform<Work: StoreWork>(_ make: @escaping @Sendable (Merge) -> Work) async throws -> Work {
        let done = try await writeTransaction { [self] connection, head in
            let work = try await merged(make(merge), at: head, on: connection)
            return (work, send(work.writes, on: connection))
        }
        tellCache(done.writes)
        return done
    }

    /// Tells this instance's cache what `writes`, committed, changed: at once, not when the
    /// notification comes back (the instance's own writers read their writes).
    func tellCache(_ writes: BatchWrites) {
        for event in CacheEvent.of(writes) {
            if case let .head(head) = event { cache.committed(head) } else { cache.apply(event) }
        }
    }

    /// Runs `work` in the transaction of `connection`, which holds the writer's lock.
    func run<Work: StoreWork>(_ work: Work, at head: LogHead? = nil, on connection: PostgresConnection) async throws
        -> Work
    {
        let work = try await merged(work, at: head, on: connection)
        try await write(work.writes, on: connection)
        return work
    }

    /// `work` merged with the facts it asks for, read on `connection`; its writes not yet sent.
    func merged<Work: StoreWork>(_ work: Work, at head: LogHead?, on connection: PostgresConnection) async throws
        -> Work
    {
        var work = work
        var start = head
        if start == nil { start = try await Self.head(on: connection, logger: logger) }
        var request = try work.start(at: start ?? .empty)
        while let asked = request {
            request = try work.advance(with: try await facts(for: asked, on: connection))
        }
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

    /// Answers `request` in one statement: a `SELECT` a kind of fact asked for, joined by
    /// `UNION ALL`, each row tagged with its kind (``FactKind``) in the columns ``FactRow`` has.
    func facts(for request: FactRequest, on connection: PostgresConnection) async throws -> Facts {
        var facts = Facts()
        var statement = BoundStatement()
        var parts: [String] = []
        /// A kind's `SELECT`: `columns` are its seven texts, two integers and boolean (nil: NULL).
        func part(_ kind: FactKind, _ columns: [String?], _ rest: String) {
            let typed = zip(columns, Self.factTypes).map { column, type in column ?? "NULL::\(type)" }
            parts.append("(SELECT \(kind.rawValue)::int2, \(typed.joined(separator: ", ")) \(rest))")
        }
        if !request.records.isEmpty {
            for id in request.records { facts.records.updateValue(nil, forKey: id) }
            part(
                .record, ["id", "tbl", "state", "values_json", nil, nil, nil, "version", "last_seq", "deleted"],
                "FROM record WHERE id = ANY(\(statement.bind(Array(request.records))))")
        }
        if !request.readers.isEmpty {
            for id in request.readers { facts.readers[id] = [] }
            part(
                .reader, ["record_id", "organisation", nil, nil, nil, nil, nil, nil, nil, nil],
                "FROM visibility WHERE record_id = ANY(\(statement.bind(Array(request.readers))))")
        }
        if !request.grants.isEmpty {
            for id in request.grants { facts.grants[id] = [:] }
            part(
                .grant, ["record_id", "organisation", nil, nil, nil, nil, nil, "count", nil, nil],
                "FROM grant_count WHERE record_id = ANY(\(statement.bind(Array(request.grants))))")
        }
        if !request.withdrawn.isEmpty {
            for id in request.withdrawn { facts.withdrawn[id] = false }
            part(
                .withdrawn, ["record_id", nil, nil, nil, nil, nil, nil, nil, nil, nil],
                "FROM withdrawn_grant WHERE record_id = ANY(\(statement.bind(Array(request.withdrawn))))")
        }
        if !request.referenceCounts.isEmpty {
            // Whether a record is referred to at all: its count, and its rows — counting stops past
            // what a batch could remove.
            part(
                .referenceCount,
                [
                    "t.id", nil, nil, nil, nil, nil, nil,
                    """
                    (SELECT count(*) FROM (SELECT 1 FROM reference r WHERE r.target = t.id LIMIT 100000) x)
                        + coalesce((SELECT c.count FROM reference_count c WHERE c.target = t.id), 0)
                    """, nil, nil,
                ],
                "FROM UNNEST(\(statement.bind(Array(request.referenceCounts)))::text[]) AS t(id)")
        }
        if !request.uniques.isEmpty {
            let keys = Array(request.uniques)
            for key in keys { facts.uniques.updateValue(nil, forKey: key) }
            part(
                .unique, ["u.tbl", "u.field", "u.value", "u.record_id", nil, nil, nil, nil, nil, nil],
                """
                FROM unique_value u
                JOIN UNNEST(\(statement.bind(keys.map(\.table)))::text[], \(statement.bind(keys.map(\.field)))::text[],
                    \(statement.bind(keys.map(\.value)))::text[]) AS k(tbl, field, value)
                    ON u.tbl = k.tbl COLLATE "C" AND u.field = k.field COLLATE "C" AND u.value = k.value COLLATE "C"
                """)
        }
        if !request.groups.isEmpty {
            let keys = Array(request.groups)
            for key in keys { facts.groups[key] = [] }
            part(
                .group,
                [
                    "g.id", "g.tbl", "g.state", "g.values_json", "k.tbl", "k.field", "k.target", "g.version",
                    "g.last_seq", "g.deleted",
                ],
                """
                FROM UNNEST(\(statement.bind(keys.map(\.table)))::text[], \(statement.bind(keys.map(\.field)))::text[],
                    \(statement.bind(keys.map(\.target)))::text[]) AS k(tbl, field, target)
                JOIN reference r ON r.target = k.target COLLATE "C" AND r.field = k.field COLLATE "C"
                JOIN record g ON g.id = r.source AND g.tbl = k.tbl COLLATE "C" AND NOT g.deleted
                """)
        }
        if !request.changeIDs.isEmpty {
            for id in request.changeIDs { facts.changeIDs.updateValue(nil, forKey: id) }
            part(
                .changeID, ["change_id", "entry", nil, nil, nil, nil, nil, "seq", nil, nil],
                "FROM log WHERE change_id = ANY(\(statement.bind(Array(request.changeIDs)))) AND signed")
        }
        if !request.conflicts.isEmpty {
            for id in request.conflicts { facts.conflicts.updateValue(nil, forKey: id) }
            part(
                .conflict, ["id", "tbl", "record_id", "field", "incoming", "status", nil, "seq", nil, nil],
                "FROM conflict WHERE id = ANY(\(statement.bind(Array(request.conflicts))))")
        }
        if !request.devices.isEmpty {
            for id in request.devices { facts.devices.updateValue(nil, forKey: id) }
            part(
                .device, ["id", "organisation", "role", "public_key", nil, nil, nil, "seq", nil, nil],
                "FROM device WHERE id = ANY(\(statement.bind(Array(request.devices))))")
        }
        guard !parts.isEmpty else { return facts }
        let rows = try await connection.query(statement.query(parts.joined(separator: "\nUNION ALL ")), logger: logger)
        for try await row in rows.decode(FactRow.self) {
            switch FactKind(rawValue: row.0) {
            case .record:
                if let id = row.1 {
                    facts.records[id] = try record(
                        (id, row.2 ?? "", row.8 ?? 0, row.10 ?? false, row.3 ?? "", row.4, row.9 ?? 0))
                }
            case .reader:
                if let id = row.1, let organisation = row.2 { facts.readers[id, default: []].insert(organisation) }
            case .grant:
                if let id = row.1, let organisation = row.2 {
                    facts.grants[id, default: [:]][organisation] = Int(row.8 ?? 0)
                }
            case .withdrawn:
                if let id = row.1 { facts.withdrawn[id] = true }
            case .referenceCount:
                if let id = row.1 { facts.referenceCounts[id] = Int(row.8 ?? 0) }
            case .unique:
                if let table = row.1, let field = row.2, let value = row.3, let id = row.4 {
                    facts.uniques[UniqueKey(table: table, field: field, value: value)] = id
                }
            case .group:
                if let id = row.1, let table = row.5, let field = row.6, let target = row.7 {
                    let member = try record(
                        (id, row.2 ?? "", row.8 ?? 0, row.10 ?? false, row.3 ?? "", row.4, row.9 ?? 0))
                    facts.records[member.id] = member
                    facts.groups[GroupKey(table: table, field: field, target: target), default: []].append(member.id)
                }
            case .changeID:
                if let id = row.1, let line = row.2 { facts.changeIDs[id] = HistoryLine(seq: row.8 ?? 0, line: line) }
            case .conflict:
                if let id = row.1 {
                    facts.conflicts[id] = try conflict(
                        (id, row.2 ?? "", row.3 ?? "", row.4 ?? "", row.5 ?? "", row.6 ?? "", row.8 ?? 0))
                }
            case .device:
                if let id = row.1, let role = row.3, let key = row.4 {
                    facts.devices[id] = DeviceRow(
                        id: id, organisation: row.2, role: Role(rawValue: role) ?? .member, publicKey: key,
                        seq: row.8 ?? 0)
                }
            case nil:
                break
            }
        }
        return facts
    }

    /// The types of a fact row's columns after its kind (``FactRow``), for the NULLs of a kind that has none there.
    private static let factTypes = Array(repeating: "text", count: 7) + ["int8", "int8", "bool"]

    typealias ConflictColumns = (String, String, String, String, String, String, Int64)

    func conflict(_ row: ConflictColumns) throws -> ConflictRow {
        ConflictRow(
            id: row.0, table: row.1, recordID: row.2, field: row.3, incoming: try JSONValue.parse(row.4), seq: row.6,
            isOpen: row.5 == "open")
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

/// The kind of fact a row of ``PostgresServerStore/facts(for:on:)`` answers.
private enum FactKind: Int16 {
    case record, reader, grant, withdrawn, referenceCount, unique, group, changeID, conflict, device
}

/// A row of ``PostgresServerStore/facts(for:on:)``: its kind, seven text columns, two integers
/// and a boolean, whose meaning depends on the kind.
private typealias FactRow = (
    Int16, String?, String?, String?, String?, String?, String?, String?, Int64?, Int64?, Bool?
)
