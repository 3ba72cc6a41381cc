public import TandemProtocol

/// A history entry as a store keeps it, for ``StoreAdapter/verify()``: its line, and the columns
/// the store derives from it (what it looks entries up by, and what pulls send).
public struct StoredEntry: Hashable, Sendable {
    public var seq: Int64
    public var changeID: String?
    public var table: String?
    public var recordID: String?
    public var line: String
    public var prevHash: String?
    public var hash: String?
    /// What pulls send of it (``PullItem/Entry/json``); nil when the store holds none.
    public var item: String?

    public init(
        seq: Int64, changeID: String?, table: String?, recordID: String?, line: String, prevHash: String?,
        hash: String?, item: String?
    ) {
        self.seq = seq
        self.changeID = changeID
        self.table = table
        self.recordID = recordID
        self.line = line
        self.prevHash = prevHash
        self.hash = hash
        self.item = item
    }
}

/// A record as a store keeps it, for ``StoreAdapter/verify()``: its per-field state, the text
/// pulls send as its values, and the seq of the entry that last changed it.
public struct StoredRecord: Hashable, Sendable {
    public var state: RecordState
    public var values: String?
    public var seq: Int64

    public init(state: RecordState, values: String?, seq: Int64) {
        self.state = state
        self.values = values
        self.seq = seq
    }
}

extension StoreAdapter {
    /// Checks the whole store as an auditor would (``HistoryVerification``): the chain, every
    /// signature, every kept checkpoint, that the store's key is the one entry 1 registers — and
    /// that what the store derives from its history says what the history says: the columns it
    /// finds entries by, each entry's pull item, each record's values (``DerivedForms``). Reads
    /// in pages: memory does not grow with the history.
    ///
    /// - Returns: the report; its `failure` names the first bad seq.
    public func verify() async throws -> HistoryVerification.Report {
        try await verify(page: ServerCore.verificationPage)
    }

    /// ``verify()`` reading `page` entries (or records) at a time.
    public func verify(page: Int) async throws -> HistoryVerification.Report {
        // Checkpoints kept before reading: each is at or before the head the stream reaches.
        let checkpoints = try await keptCheckpoints()
        var verification = HistoryVerification()
        // Every schema the history installed: a record keeps the default of its insert's time.
        var installed: [Schema] = []
        // The signatures, in the chunks the verification hands out, are checked by child tasks
        // on every core while this task reads on; at most `chunksInFlight` are out at once.
        try await withThrowingTaskGroup(of: AuditFailure?.self) { signatures in
            var inFlight = 0
            var after: Int64 = 0
            reading: while true {
                let rows = try await storedEntries(after: after, limit: page)
                // The openings kept beside these entries must open what they commit to (SPEC §8).
                let kept = Dictionary(grouping: try await openings(at: rows.map(\.seq)), by: \.seq)
                for row in rows {
                    guard verification.add(line: Array(row.line.utf8)) else { break reading }
                    let checks = verification.takeSignatureChecks()
                    if !checks.isEmpty {
                        if inFlight == HistoryVerification.chunksInFlight, let done = try await signatures.next() {
                            inFlight -= 1
                            // A bad signature found: the rest need not be read.
                            if let found = done {
                                verification.fail(found)
                                break reading
                            }
                        }
                        signatures.addTask { SignatureCheck.firstFailure(in: checks) }
                        inFlight += 1
                    }
                    guard let entry = verification.last else { continue }
                    if row.table == SchemaRegistry.table, let schema = DerivedForms.installedSchema(by: entry) {
                        installed.append(schema)
                    }
                    if let problem = Self.problem(columns: row, of: entry)
                        ?? DerivedForms.problem(item: row.item, of: entry)
                        ?? kept[entry.seq].flatMap({ Self.problem(openings: $0, of: entry) })
                    {
                        verification.fail(problem)
                        break reading
                    }
                }
                guard rows.count == page, let last = rows.last else { break }
                after = last.seq
            }
            // Every chunk out is waited for: a lower seq than a problem found later may be among them.
            for try await case let found? in signatures { verification.fail(found) }
        }
        let hashes = try await hashes(at: Set(checkpoints.map(\.seq)))
        var report = verification.finish(checkpoints: checkpoints) { hashes[$0] }
        // Seq 1 is the first bad seq whatever else is wrong later (a checkpoint the replaced key
        // signed, say): unless seq 1 has already been named.
        if (report.failure?.seq ?? .max) > 1, let registered = verification.serverKey,
            registered != serverKey.publicKey
        {
            report.failure = AuditFailure(
                seq: 1, "the store's signing key is not the server key registered at seq 1 (replaced)")
        }
        if report.failure == nil {
            report.failure = try await recordFailure(page: page, installed: installed, head: report.headSeq)
        }
        return report
    }

    /// The openings kept for an entry must each open a commitment the entry holds.
    static func problem(openings rows: [OpeningRow], of entry: LogEntry) -> AuditFailure? {
        LogEntry.openingProblem(Self.openings(rows).json, entry: entry).map {
            AuditFailure(seq: entry.seq, "the store's personal values: " + $0)
        }
    }

    /// The columns the store looks entries up by must say what the entry says.
    static func problem(columns row: StoredEntry, of entry: LogEntry) -> AuditFailure? {
        func text(_ value: JSONValue?) -> String? {
            if case let .string(text)? = value { text } else { nil }
        }
        let columns = [row.hash, row.prevHash, row.changeID, row.table, row.recordID]
        let said: [String?] = [
            entry.hash, entry.prevHash, text(entry.change["change_id"]), text(entry.change["table"]),
            text(entry.change["record_id"]),
        ]
        guard row.seq != entry.seq || columns != said else { return nil }
        return AuditFailure(
            seq: entry.seq,
            "the store's columns (seq, change_id, tbl, record_id, prev_hash, hash) disagree with the entry")
    }

    /// The first record (by id) whose values are not what its state and the history say; else
    /// the first record referred to (by id) whose references the store keeps otherwise than its
    /// records hold them (``ReferenceIndex``: rows and counts), at the seq of the last entry that
    /// changed a record referring to it (the head when none does).
    private func recordFailure(page: Int, installed: [Schema], head: Int64) async throws -> AuditFailure? {
        let current = try await currentSchema()
        let schemas = [current] + installed.reversed() + [.partnership]
        let index = ReferenceIndex(schema: current)
        var references: [String: ReferenceIndex.Total] = [:]
        var referredAt: [String: Int64] = [:]
        var after: String?
        while true {
            let records = try await storedRecords(after: after, limit: page)
            var request = FactRequest()
            request.changeIDs = Set(records.flatMap { DerivedForms.changeIDs(of: $0.state) })
            var entries: [String: LogEntry] = [:]
            for case let (id, line?) in try await facts(for: request).changeIDs {
                entries[id] = try? LogEntry(json: JSONValue.parse(line.line))
            }
            let openings = Self.openings(try await self.openings(at: entries.values.map(\.seq)))
            for record in records {
                if let failure = DerivedForms.problem(
                    values: record.values, of: record.state, seq: record.seq, setBy: entries, schemas: schemas,
                    openings: openings)
                {
                    return failure
                }
                index.add(record.state, in: current, to: &references)
                for row in ReferenceIndex.references(of: record.state, in: current) {
                    referredAt[row.target] = max(referredAt[row.target] ?? 0, record.seq)
                }
            }
            guard records.count == page, let last = records.last else { break }
            after = last.state.id
        }
        let stored = try await storedReferences()
        for target in Set(references.keys).union(stored.keys).sorted() {
            let (held, kept) = (references[target] ?? .init(), stored[target] ?? .init())
            guard held != kept else { continue }
            return AuditFailure(
                seq: referredAt[target] ?? head,
                "the store's references to record \(target) (\(kept.rows) rows, counted \(kept.count)) disagree "
                    + "with its records (\(held.rows) rows, \(held.count) counted)")
        }
        return nil
    }
}
