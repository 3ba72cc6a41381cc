import ArgumentParser
import Foundation
import TandemClient
import TandemProtocol

struct Remote: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remote", _superCommandName: "tandem",
        abstract: "Set or change the server this replica syncs with.",
        discussion: """
            Asks the server who the token is and registers this replica's device key there (not for an \
            auditor's token) first; nothing changes when it cannot be reached (69), refuses the token (77), \
            or holds this device with another key or organisation (65). A different server or identity \
            makes the next sync pull everything again.
            --ca-file trusts a private certificate authority (kept; without it, the same server keeps \
            the one given before).
            Example: tandem remote https://tandem.example.org --token "$TOKEN"
            """)

    @Argument(help: "The server's URL (http://HOST:PORT or https://HOST).") var url: String
    @Option(name: .long, help: "The bearer token the server issued.") var token: String
    @OptionGroup var ca: CAFileOptions
    @OptionGroup var replica: ReplicaOptions

    func run() throws {
        try reporting { () throws(ReplicaError) in
            let opened = try replica.open()
            let server = try CurlTransport.normalize(url)
            // Without --ca-file, the same server keeps the authorities given before.
            let previous = try opened.remote.current()
            let caFile = try ca.resolved() ?? (previous?.server == server ? previous?.caFile : nil)
            let remote = TandemClient.Remote(server: server, token: token, caFile: caFile)
            let transport = try CurlTransport(
                server: server, token: token, configuration: remote.transportConfiguration)
            let (identity, isReset) = try SyncEngine.connect(
                opened, to: remote, transport: transport, retry: .commandLine)
            emit(
                "Server \(transport.server): \(identity.role.rawValue)\(identity.organisation.map { " of \($0)" } ?? "")"
                    + (isReset ? " (the next sync pulls everything again)" : "") + "\n")
        }
    }
}

struct Sync: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", _superCommandName: "tandem",
        abstract: "Push pending changes, then pull until up to date.",
        discussion: """
            Safe to interrupt and run again. Exits 0 when the exchange completed, even if the server \
            rejected changes (they are listed by `tandem status`); 65 when the server's history went \
            back or forked since the last sync (a server restored from a backup: this replica hands back \
            the changes it lost, pulls again from where both agree, and says so in one stderr line; \
            docs/operations.md); 69 when the server cannot be reached, 75 when it is busy (a 429 is \
            waited out first: Retry-After, at most 30 s, 3 times, said on stderr), 77 when the token is \
            refused. --ca-file trusts a private certificate authority, kept for later syncs once this \
            one has reached the server.
            """)

    @Flag(name: .long, help: "Rebuild the replica's records from the server, keeping pending edits.")
    var resync = false
    @OptionGroup var ca: CAFileOptions
    @OptionGroup var replica: ReplicaOptions

    func run() throws {
        var rollback: RollbackState?
        try reporting { () throws(ReplicaError) in
            let opened = try replica.open()
            let caFile = try ca.resolved()
            var configuration = try opened.remote.required().transportConfiguration
            if let caFile { configuration.caFile = caFile }
            let engine = try SyncEngine.connecting(opened, configuration: configuration, retry: .commandLine)
            let progress = ProgressLine()
            defer { progress.clear() }
            let summary =
                resync ? try engine.resync(progress: progress.show) : try engine.sync(progress: progress.show)
            progress.clear()
            if let caFile { try opened.remote.setCAFile(caFile) }
            var line = "Pushed \(summary.pushed) change\(summary.pushed == 1 ? "" : "s")"
            if summary.carried > 0 { line += " and \(summary.carried) carried from bundles" }
            line += ", pulled \(summary.pulled) item\(summary.pulled == 1 ? "" : "s")"
            if summary.conflicts > 0 {
                line += "; \(summary.conflicts) open conflict\(summary.conflicts == 1 ? "" : "s") (tandem conflicts)"
            }
            emit(line + "\n")
            if let found = summary.rollback {
                warn(found.line)
                rollback = found
            }
            if summary.carriedRejected > 0 {
                let count = summary.carriedRejected
                warn("\(count) carried change\(count == 1 ? "" : "s") rejected; their replicas see why when they sync")
            }
            if !summary.rejected.isEmpty {
                let count = summary.rejected.count
                warn("\(count) change\(count == 1 ? "" : "s") rejected; see tandem status")
            }
        }
        // The exchange completed and the replica is repaired, but the server lost history: a
        // script must notice (SPEC §3: 65, as for a history that fails verification).
        if rollback != nil { throw ExitCode(65) }
    }
}

struct Conflicts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts", _superCommandName: "tandem",
        abstract: "Open (or all) conflicts on records you can see.",
        discussion: "Asks the server; offline, shows what the last sync saw (and says so on stderr).")

    @Flag(name: .long, help: "Resolved conflicts too.") var all = false
    @OptionGroup var replica: ReplicaOptions
    @OptionGroup var output: FormatOptions

    func run() throws {
        try reporting { () throws(ReplicaError) in
            let opened = try replica.open()
            var conflicts: [ConflictInfo]
            if try opened.remote.current() == nil {
                conflicts = try opened.conflicts.cached(includeResolved: all)
            } else {
                do throws(ReplicaError) {
                    conflicts = try SyncEngine.connecting(opened, retry: .commandLine).conflicts(includeResolved: all)
                } catch  where error.code == .unavailable {
                    let since = try opened.status().lastSync.map { " (last sync \($0))" } ?? ""
                    warn("\(error.message); showing the conflicts known locally\(since)")
                    conflicts = try opened.conflicts.cached(includeResolved: all)
                }
            }
            emit(render(conflicts, as: output.format, names: try names(for: conflicts, in: opened, as: output.format)))
        }
    }
}

struct Resolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve", _superCommandName: "tandem",
        abstract: "Settle a conflict: keep the current value, take the incoming one, or set another.",
        discussion: """
            Coordinators and the record's owners may resolve. The decision is a change like any other; \
            the replica pulls it at once.
            Example: tandem resolve 0193ab --keep incoming
            """)

    enum Side: String, ExpressibleByArgument, CaseIterable {
        case current, incoming
    }

    @Argument(help: "The conflict's id or a unique prefix.") var id: String
    @Option(name: .long, help: "current or incoming.") var keep: Side?
    @Option(name: .long, help: "A value for the field, as on the command line.") var value: String?
    @OptionGroup var replica: ReplicaOptions
    @OptionGroup var output: FormatOptions

    func validate() throws {
        guard (keep == nil) != (value == nil) else { throw ValidationError("Give either --keep or --value.") }
    }

    func run() throws {
        try reporting { () throws(ReplicaError) in
            let engine = try SyncEngine.connecting(try replica.open(), retry: .commandLine)
            let resolved: ConflictInfo
            switch (keep, value) {
            case (.current?, _): resolved = try engine.resolve(id, with: .keepCurrent)
            case (.incoming?, _): resolved = try engine.resolve(id, with: .keepIncoming)
            case let (nil, value?): resolved = try engine.resolve(id, value: value)
            case (nil, nil): throw ReplicaError(.usage, "give either --keep or --value")
            }
            switch output.format {
            case .json: emit(resolved.json.serialized() + "\n")
            case .csv, .table:
                let opened = try replica.open()
                emit(
                    render(
                        [resolved], as: output.format, names: try names(for: [resolved], in: opened, as: output.format))
                )
            }
        }
    }
}

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", _superCommandName: "tandem",
        abstract: "Every version of a record: the log entries pulled, then pending local edits.")

    @Argument(help: "The table.") var table: String
    @Argument(help: "The record's id or a unique prefix.") var id: String
    @OptionGroup var replica: ReplicaOptions
    @OptionGroup var output: FormatOptions

    func run() throws {
        try reporting { () throws(ReplicaError) in
            let opened = try replica.open()
            let entries = try opened.history(of: table, id: id)
            switch output.format {
            case .json:
                emit(JSONValue.array(entries.map(\.json)).serialized() + "\n")
            case .csv:
                var text = CSVWriter.line([
                    "seq", "version", "time", "organisation", "role", "op", "fields", "outcome", "pending",
                ])
                for entry in entries {
                    text += CSVWriter.line([
                        entry.seq.map(String.init) ?? "", entry.version.map(String.init) ?? "", entry.time,
                        entry.organisation ?? "", entry.role ?? "", entry.op.rawValue, entry.fields.serialized(),
                        entry.outcome == .null ? "" : entry.outcome.serialized(), entry.isPending ? "true" : "false",
                    ])
                }
                emit(text)
            case .table:
                // Authors and references by name.
                let schema = try opened.table(table)
                let organisations = opened.organisationTable
                let names = try opened.names(
                    of: opened.namedTables(for: schema) + (organisations.map { [$0] } ?? []))
                let rows = entries.map { entry -> [String] in
                    var fields = entry.fields.serialized()
                    if case let .object(members) = entry.fields {
                        fields = names.text(
                            fields: Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }), of: schema
                        )
                    }
                    return [
                        entry.seq.map(String.init) ?? "pending", entry.version.map(String.init) ?? "", entry.time,
                        entry.role ?? "", entry.organisation.map { names.name(of: $0, in: organisations ?? "") } ?? "",
                        entry.op.rawValue, fields, Self.outcome(entry.outcome),
                    ]
                }
                emit(
                    TextTable.render(
                        header: ["seq", "version", "time", "role", "organisation", "op", "fields", "outcome"],
                        rows: rows, counting: "entry"
                    ).replacingOccurrences(of: "entrys)", with: "entries)"))
            }
        }
    }

    /// `applied`, `conflict (status: kept …)`, `rejected: deleted`.
    static func outcome(_ json: JSONValue) -> String {
        guard case let .string(status)? = json["status"] else { return "" }
        if case let .string(reason)? = json["reason"] { return "\(status): \(reason)" }
        return status
    }
}

/// The names a conflicts table shows (none for JSON and CSV, which keep ids): each conflict's
/// record and the references its values hold.
private func names(for conflicts: [ConflictInfo], in replica: Replica, as format: OutputFormat) throws(ReplicaError)
    -> RecordNames
{
    guard format == .table else { return RecordNames() }
    let tables = Swift.Set(conflicts.map(\.table)).compactMap { try? replica.table($0) }
    return try replica.names(of: tables.flatMap(replica.namedTables))
}

/// Conflicts as a table (records and references by name), CSV, or the JSON array of SPEC §3.
private func render(_ conflicts: [ConflictInfo], as format: OutputFormat, names: RecordNames) -> String {
    switch format {
    case .json:
        return JSONValue.array(conflicts.map(\.json)).serialized() + "\n"
    case .csv:
        var text = CSVWriter.line(["id", "table", "record_id", "field", "current", "incoming", "status"])
        for conflict in conflicts {
            text += CSVWriter.line(cells(conflict, names: RecordNames(), field: nil))
        }
        return text
    case .table:
        return TextTable.render(
            header: ["id", "table", "record", "field", "current", "incoming", "status"],
            rows: conflicts.map { conflict in
                cells(conflict, names: names, field: names.field(conflict.field, of: conflict.table))
            }, counting: "conflict")
    }
}

private func cells(_ conflict: ConflictInfo, names: RecordNames, field: FieldSchema?) -> [String] {
    [
        conflict.id, conflict.table, names.name(of: conflict.recordID, in: conflict.table), conflict.field,
        names.text(json: conflict.current, of: field), names.text(json: conflict.incoming, of: field),
        conflict.status.rawValue,
    ]
}

/// One line on stderr that rewrites itself while a sync runs, only when stderr is a terminal.
final class ProgressLine {
    private let isTerminal = isatty(2) == 1
    private var isShowing = false

    func show(_ progress: SyncEngine.Progress) {
        switch progress {
        case let .pushing(sent, total): show("pushing: \(sent)/\(total) changes")
        case let .pulling(items, seq): show("pulling: \(items) items (seq \(seq))")
        }
    }

    func show(_ text: String) {
        guard isTerminal else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[Ktandem: \(text)".utf8))
        isShowing = true
    }

    /// Erases the line, if one is shown.
    func clear() {
        guard isShowing else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        isShowing = false
    }
}
