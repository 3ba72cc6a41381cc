import ArgumentParser
import TandemClient
import TandemProtocol

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", _superCommandName: "tandem",
        abstract: "Am I in sync? Compare the replica's per-table digests with the server's.",
        discussion: """
            Exits 0 when every table holds what the server says this token may see (same records, \
            versions and values), printing one line; 1 otherwise, printing one line a table that \
            differs (with the record counts on both sides) or has changes not pushed yet. Pushes and \
            pulls nothing: `tandem sync` brings the replica up to date, `tandem sync --resync` rebuilds \
            it from the server (keeping pending edits). 69 when the server cannot be reached, 77 when \
            the token is refused. docs/sync.md says how digests are made.
            """)

    @OptionGroup var replica: ReplicaOptions
    @OptionGroup var output: FormatOptions

    func run() throws {
        var report: CheckReport?
        try reporting { () throws(ReplicaError) in
            let found = try SyncEngine.connecting(try replica.open(), retry: .commandLine).check()
            switch output.format {
            case .json: emit(found.json.serialized() + "\n")
            case .csv:
                var text = CSVWriter.line([
                    "table", "status", "records", "server_records", "pending", "digest", "server_digest",
                ])
                for table in found.tables {
                    text += CSVWriter.line([
                        table.table, table.status.rawValue, String(table.records), String(table.serverRecords),
                        String(table.pending), table.digest, table.serverDigest,
                    ])
                }
                emit(text)
            case .table: emit(found.lines.map { $0 + "\n" }.joined())
            }
            report = found
        }
        guard let report, !report.isInSync else { return }
        let pending = report.tables.contains { $0.status == .pending }
        warn(
            "not in sync; "
                + (pending ? "tandem sync pushes pending changes and pulls" : "tandem sync pulls what is missing")
                + ", tandem sync --resync rebuilds the replica from the server")
        throw ExitCode(1)
    }
}
