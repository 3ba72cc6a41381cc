public import TandemProtocol

/// What `tandem check` found: each table's digest in the replica beside the server's
/// (``TableDigest``), and the changes still waiting to be pushed. A pure comparison, tested
/// without a database or network.
///
/// A table with pending changes is not compared: its rows show the user's own edits, which the
/// server does not have yet, so it is reported as pending (and the replica as not in sync) until
/// `tandem sync` pushes them.
///
/// ```swift
/// let report = CheckReport(replica: try replica.digests(), server: try api.digests().tables,
///                          pending: try replica.pendingChangesByTable())
/// report.isInSync            // false
/// report.tables[0].status    // .differs
/// ```
public struct CheckReport: Hashable, Sendable {
    public struct Table: Hashable, Sendable {
        public enum Status: String, Hashable, Sendable {
            /// The same records, versions and values on both sides.
            case equal
            /// Something differs: records missing on one side, or other versions or values.
            case differs
            /// Changes to it wait in the outbox; not compared.
            case pending
        }

        public var table: String
        public var status: Status
        /// The records the replica holds (rows of the table).
        public var records: Int
        /// The records the server says this token may see (0 for a table it does not have).
        public var serverRecords: Int
        /// Changes to the table waiting in the outbox.
        public var pending: Int
        public var digest: String
        public var serverDigest: String

        /// The fewest records that must differ: the difference of the counts (more may differ in
        /// contents; a digest cannot say how many).
        public var leastDiffering: Int { abs(records - serverRecords) }
    }

    public var tables: [Table]

    /// Every table equal, nothing pending.
    public var isInSync: Bool { tables.allSatisfy { $0.status == .equal } }

    /// Compares table by table: the server's tables in its order, then any only the replica has;
    /// a table one side lacks counts as empty there.
    public init(replica: [TableDigest], server: [TableDigest], pending: [String: Int]) {
        let local = Dictionary(replica.map { ($0.table, $0) }, uniquingKeysWith: { first, _ in first })
        let remote = Dictionary(server.map { ($0.table, $0) }, uniquingKeysWith: { first, _ in first })
        var names = server.map(\.table)
        names += replica.map(\.table).filter { remote[$0] == nil }
        var seen = Set<String>()
        tables = names.filter { seen.insert($0).inserted }.map { name in
            let mine = local[name] ?? TableDigest(table: name)
            let theirs = remote[name] ?? TableDigest(table: name)
            let waiting = pending[name] ?? 0
            let status: Table.Status =
                waiting > 0 ? .pending : mine == theirs ? .equal : .differs
            return Table(
                table: name, status: status, records: mine.records, serverRecords: theirs.records, pending: waiting,
                digest: mine.hex, serverDigest: theirs.hex)
        }
    }

    /// `{"in_sync", "tables": [{"table", "status", "records", "server_records", "pending",
    /// "digest", "server_digest"}]}`.
    public var json: JSONValue {
        .object([
            JSONMember("in_sync", .bool(isInSync)),
            JSONMember(
                "tables",
                .array(
                    tables.map { table in
                        .object([
                            JSONMember("table", .string(table.table)),
                            JSONMember("status", .string(table.status.rawValue)),
                            JSONMember("records", .int(Int64(table.records))),
                            JSONMember("server_records", .int(Int64(table.serverRecords))),
                            JSONMember("pending", .int(Int64(table.pending))),
                            JSONMember("digest", .string(table.digest)),
                            JSONMember("server_digest", .string(table.serverDigest)),
                        ])
                    })),
        ])
    }

    /// One line a table that is not equal (`tandem check`'s table format), or one line saying
    /// all is in sync.
    public var lines: [String] {
        guard !isInSync else {
            let records = tables.reduce(0) { $0 + $1.records }
            return ["in sync: \(tables.count) tables, \(Self.count(records, "record"))"]
        }
        return tables.compactMap { table in
            switch table.status {
            case .equal:
                return nil
            case .pending:
                return "\(table.table): \(Self.count(table.pending, "pending change")) not pushed yet "
                    + "(\(table.records) here, \(table.serverRecords) on the server)"
            case .differs where table.records == table.serverRecords:
                return "\(table.table): differs: \(Self.count(table.records, "record")) on both sides, "
                    + "not the same versions or values"
            case .differs:
                return "\(table.table): differs: \(table.records) here, \(table.serverRecords) on the server "
                    + "(at least \(Self.count(table.leastDiffering, "record")) \(table.leastDiffering == 1 ? "differs" : "differ"))"
            }
        }
    }

    static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
}
