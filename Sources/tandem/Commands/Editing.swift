import ArgumentParser
import TandemClient
import TandemProtocol

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", _superCommandName: "tandem",
        abstract: "Create a replica (offline: with the bundled partnership schema).",
        discussion: """
            With --server and --token, asks the server who the token is and for its schema first (nothing \
            is created when it cannot be reached or its certificate cannot be verified: 69), then creates \
            the replica and pulls. --ca-file trusts a private certificate authority (kept for later syncs).
            Offline, --org ID records the organisation the replica works for (as a member's replica), so \
            that its bundles carry its device to the server (tandem bundle export).
            """)

    @Option(name: .long, help: "The server to sync with (http://HOST:PORT or https://HOST).") var server: String?
    @Option(name: .long, help: "The bearer token the server issued (with --server).") var token: String?
    @Option(name: .long, help: "Offline: the organisation this replica works for (its id).") var org: String?
    @OptionGroup var ca: CAFileOptions
    @OptionGroup var replica: ReplicaOptions

    func validate() throws {
        guard (server == nil) == (token == nil) else { throw ValidationError("Give --server and --token together.") }
        guard ca.caFile == nil || server != nil else { throw ValidationError("--ca-file goes with --server.") }
        guard org == nil || server == nil else {
            throw ValidationError("--org is for an offline replica; with --server the token says whom it works for.")
        }
    }

    func run() throws {
        try reporting { () throws(ReplicaError) in
            guard let server, let token else {
                if let org, !Identifier.isUUID(org) {
                    throw ReplicaError(.usage, "--org: expected an organisation id (tandem-server org add prints it)")
                }
                let created = try Replica.create(at: replica.path, clock: .commandLine)
                if let org { try created.remote.setOrganisation(org) }
                emit(
                    "Created replica \(replica.path) (schema \(created.schema.name) v\(created.schema.version), device \(created.device))"
                        + (org.map { " for organisation \($0)" } ?? "") + "\n")
                return
            }
            let remote = TandemClient.Remote(
                server: try CurlTransport.normalize(server), token: token, caFile: try ca.resolved())
            let transport = try CurlTransport(
                server: remote.server, token: token, configuration: remote.transportConfiguration)
            let progress = ProgressLine()
            defer { progress.clear() }
            let (created, summary) = try SyncEngine.createReplica(
                at: replica.path, remote: remote, transport: transport, clock: .commandLine, retry: .commandLine,
                progress: progress.show)
            progress.clear()
            let status = try created.status()
            let who = (status.role ?? "?") + (status.organisation.map { " of \($0)" } ?? "")
            emit(
                "Created replica \(replica.path) (schema \(created.schema.name) v\(created.schema.version), device \(created.device)) "
                    + "from \(transport.server) as \(who); pulled \(summary.pulled) item\(summary.pulled == 1 ? "" : "s")\n"
            )
        }
    }
}

struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", _superCommandName: "tandem",
        abstract: "Insert a record; prints its new id.",
        discussion: "Example: tandem add round number=5 title='Connected for action' status=open")

    @Argument(help: "The table.") var table: String
    @Argument(help: "field=value pairs (field= is NULL; sets as a;b;c; refs as ids or unique prefixes).")
    var assignments: [String] = []
    @OptionGroup var replica: ReplicaOptions
    @OptionGroup var output: FormatOptions

    func run() throws {
        try reporting { () throws(ReplicaError) in
            let assignments = try parseAssignments(assignments)
            let opened = try replica.open()
            let record = try opened.editor.insert(into: table, assignments)
            emitNew(record, of: try opened.table(table), as: output.format)
        }
    }
}

struct Set: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", _superCommandName: "tandem",
        abstract: "Update the named fields of a record (field= sets NULL).",
        discussion: "Example: tandem set exchange 0193ab status=confirmed notes=")

    @Argument(help: "The table.") var table: String
    @Argument(help: "The record's id or a unique prefix of at least 4 characters.") var id: String
    @Argument(help: "field=value pairs.") var assignments: [String] = []
    @OptionGroup var replica: ReplicaOptions
    @OptionGroup var output: FormatOptions

    func validate() throws {
        guard !assignments.isEmpty else { throw ValidationError("Give at least one field=value.") }
    }

    func run() throws {
        try reporting { () throws(ReplicaError) in
            let assignments = try parseAssignments(assignments)
            let opened = try replica.open()
            let record = try opened.editor.update(table, id: id, assignments)
            if output.format != .table {
                emit(RecordFormat.render(record, of: try opened.table(table), as: output.format))
            }
        }
    }
}

struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", _superCommandName: "tandem",
        abstract: "Delete a record (refused while live records refer to it).")

    @Argument(help: "The table.") var table: String
    @Argument(help: "The record's id or a unique prefix.") var id: String
    @OptionGroup var replica: ReplicaOptions

    func run() throws {
        try reporting { () throws(ReplicaError) in try replica.open().editor.delete(from: table, id: id) }
    }
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", _superCommandName: "tandem",
        abstract: "Insert every row of a CSV file, all or nothing.",
        discussion: "The header row names fields (and optionally id); empty cells are NULL; sets as a;b;c.")

    @Argument(help: "The table.") var table: String
    @Argument(help: "The CSV file.") var file: String
    @OptionGroup var replica: ReplicaOptions

    func run() throws {
        try reporting { () throws(ReplicaError) in
            let count = try replica.open().editor.importCSV(into: table, from: file)
            emit("Imported \(count) \(table) record\(count == 1 ? "" : "s")\n")
        }
    }
}
