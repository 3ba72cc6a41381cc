import ArgumentParser
import TandemClient
import TandemProtocol

struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", _superCommandName: "tandem", abstract: "Show one record, now or as it was.",
        discussion: """
            --as-of rebuilds the record from the history this replica holds (the audit store of \
            `tandem audit pull`, then the log entries pulled by sync): an integer is a seq (the record \
            after that entry); otherwise an RFC 3339 time (2026-05-04T10:00:00Z, any offset) or a date \
            (2026-05-04: the end of that day, UTC). A record that did not exist then is 66; bad --as-of text 64.
            Example: tandem get exchange 0193ab --as-of 2026-05-04
            """)

    @Argument(help: "The table.") var table: String
    @Argument(help: "The record's id or a unique prefix of at least 4 characters.") var id: String
    @Option(
        name: .customLong("as-of"),
        help: ArgumentHelp("The record as it was after this seq, or at this time or date.", valueName: "seq|time"))
    var asOf: String?
    @OptionGroup var replica: ReplicaOptions
    @OptionGroup var output: FormatOptions

    func run() throws {
        try reporting { () throws(ReplicaError) in
            var point: AsOfPoint?
            if let asOf { point = try AsOfPoint(parsing: asOf) }
            let opened = try replica.open()
            let record: Record
            if let point {
                record = try opened.record(in: table, id: id, asOf: point)
            } else {
                record = try opened.record(in: table, id: id)
            }
            let schema = try opened.table(table)
            let names = output.format == .table ? try opened.names(of: opened.namedTables(for: schema)) : RecordNames()
            emit(RecordFormat.render(record, of: schema, as: output.format, names: names))
        }
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", _superCommandName: "tandem",
        abstract: "List records in creation order.",
        discussion: "Example: tandem list exchange --where status=confirmed --where round=0193ab --limit 10")

    @Argument(help: "The table.") var table: String
    @Option(name: .long, help: "Keep records where field=value (repeatable; all must hold).")
    var `where`: [String] = []
    @Option(name: .long, help: "At most this many records.") var limit: Int?
    @OptionGroup var replica: ReplicaOptions
    @OptionGroup var output: FormatOptions

    func run() throws {
        try reporting { () throws(ReplicaError) in
            let filters = try parseAssignments(`where`)
            let opened = try replica.open()
            let records = try opened.records(in: table, where: filters, limit: limit)
            let schema = try opened.table(table)
            let names = output.format == .table ? try opened.names(of: opened.namedTables(for: schema)) : RecordNames()
            emit(RecordFormat.render(records, of: schema, as: output.format, names: names))
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", _superCommandName: "tandem",
        abstract: "Print every record of a table (--format csv writes what import reads).")

    @Argument(help: "The table.") var table: String
    @OptionGroup var replica: ReplicaOptions
    @OptionGroup var output: FormatOptions

    func run() throws {
        try reporting { () throws(ReplicaError) in
            let opened = try replica.open()
            let records = try opened.records(in: table)
            emit(RecordFormat.render(records, of: try opened.table(table), as: output.format))
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", _superCommandName: "tandem",
        abstract: "Organisation, role, server, pending changes, conflicts, rejected changes, last sync.",
        discussion: """
            Each change the server refused is listed with its id, reason and fields until `tandem retry` \
            queues it again or `tandem dismiss` forgets it. A device clock off the server's by 5 s or more \
            is said (`clock`), with how far: edits are stamped in the server's time anyway.
            """)

    @OptionGroup var replica: ReplicaOptions
    @OptionGroup var output: FormatOptions

    func run() throws {
        try reporting { () throws(ReplicaError) in
            let opened = try replica.open()
            let status = try opened.status()
            switch output.format {
            case .json:
                emit(status.json.serialized() + "\n")
            case .csv, .table:
                let rows: [[String]] =
                    [
                        ["organisation", status.organisation ?? ""], ["role", status.role ?? ""],
                        ["server", status.server ?? ""], ["pending", String(status.pending)],
                        ["conflicts", String(status.conflicts)], ["rejected", String(status.rejected.count)],
                        ["last_sync", status.lastSync ?? ""],
                        ["schema", "\(status.schemaName) v\(status.schemaVersion)"],
                    ] + (status.clockNotice.map { [["clock", $0]] } ?? [])
                if output.format == .csv, let rollback = status.rollback {
                    emit(rows.map { CSVWriter.line($0) }.joined() + CSVWriter.line(["_rollback", rollback.what]))
                    return
                }
                if output.format == .csv {
                    emit(rows.map { CSVWriter.line($0) }.joined())
                    return
                }
                // People read the organisation and the refused changes' records by name.
                let organisations = opened.organisationTable
                let tables = Swift.Set(status.rejected.map(\.table)).compactMap { try? opened.table($0) }
                let names = try opened.names(
                    of: (organisations.map { [$0] } ?? []) + tables.flatMap(opened.namedTables))
                var named = rows
                if let organisation = status.organisation, let organisations {
                    named[0][1] = names.name(of: organisation, in: organisations)
                }
                var text = TextTable.render(
                    header: nil,
                    rows: named.map { [$0[0].replacingOccurrences(of: "_", with: " "), $0[1].isEmpty ? "—" : $0[1]] })
                for rejection in status.rejected {
                    text += Self.line(rejection, table: tables.first { $0.name == rejection.table }, names: names)
                }
                if let rollback = status.rollback {
                    text +=
                        "rollback: \(rollback.what) (found \(rollback.detectedAt)); the repair is not finished: "
                        + "run tandem sync\n"
                }
                emit(text)
            }
        }
    }
}

extension Status {
    /// `rejected: CHANGE_ID exchange @0c1d2e update (clock): notes=…, person=Ana Novak`: the
    /// record and references by name, long values shortened, so that the user sees what to retry
    /// or dismiss (the change id whole: `retry` and `dismiss` take it).
    static func line(_ rejection: Rejection, table: TableSchema?, names: RecordNames) -> String {
        let fields = names.text(fields: rejection.fields, of: table)
        let op = rejection.op.map { " \($0.rawValue)" } ?? ""
        return
            "rejected: \(rejection.changeID) \(rejection.table) \(names.name(of: rejection.recordID, in: rejection.table))"
            + "\(op) (\(rejection.reason))" + (fields.isEmpty ? "" : ": " + fields) + "\n"
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", _superCommandName: "tandem",
        abstract: "Reports computed from the replica.", subcommands: [RoundCommand.self])

    struct RoundCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "round", abstract: "A round's exchanges by status and participation by sector.")

        @Argument(help: "The round's number.") var number: Int64
        @OptionGroup var replica: ReplicaOptions
        @OptionGroup var output: FormatOptions

        func run() throws {
            try reporting { () throws(ReplicaError) in
                let opened = try replica.open()
                let report = try opened.roundReport(number: number)
                switch output.format {
                case .json: emit(report.json.serialized() + "\n")
                case .csv: emit(report.csv)
                case .table:
                    // The challenges by title and their mentors by name (the tables the schema says).
                    let challenges = try? opened.table("challenge")
                    let names = try opened.names(of: challenges.map(opened.namedTables) ?? [])
                    let mentors = challenges?.fields.first { $0.name == "mentor" }?.references ?? ""
                    emit(report.table(names: names, challenges: challenges?.name ?? "", mentors: mentors))
                }
            }
        }
    }
}

extension RoundReport {
    /// `section,name,organisations,employees,exchanges` rows: every status, every sector's
    /// organisations and employees, totals; with challenges, two more columns (`challenges`,
    /// `mentor`) and a row per challenge status and per selected challenge.
    var csv: String {
        let hasChallenges = !challengesByStatus.isEmpty
        func line(_ fields: [String], challenges: String = "", mentor: String = "") -> String {
            CSVWriter.line(fields + (hasChallenges ? [challenges, mentor] : []))
        }
        var output = line(
            ["section", "name", "organisations", "employees", "exchanges"], challenges: "challenges", mentor: "mentor")
        for (status, count) in exchangesByStatus {
            output += line(["status", status, "", "", String(count)])
        }
        for sector in sectors {
            output += line(["sector", sector.sector, String(sector.organisations), String(sector.employees), ""])
        }
        for (status, count) in challengesByStatus {
            output += line(["challenge_status", status, "", "", ""], challenges: String(count))
        }
        for challenge in selectedChallenges {
            output += line(
                ["selected_challenge", challenge.title, "", "", ""], challenges: challenge.status,
                mentor: challenge.mentor ?? "")
        }
        output += line(
            ["total", "", "", String(employeesExchanged), String(totalExchanges)],
            challenges: hasChallenges ? String(totalChallenges) : "")
        return output
    }

    /// For people: the selected challenges by title (with a short id when two share one) and
    /// their mentors by name.
    func table(names: RecordNames, challenges: String, mentors: String) -> String {
        var output =
            "Round \(round): \(totalExchanges) exchange\(totalExchanges == 1 ? "" : "s") (cancelled not counted)\n\n"
        output += TextTable.render(
            header: ["status", "exchanges"], rows: exchangesByStatus.map { [$0.status, String($0.count)] })
        output += "\n"
        output += TextTable.render(
            header: ["sector", "organisations", "employees"],
            rows: sectors.map { [$0.sector, String($0.organisations), String($0.employees)] })
        output += "\n\(employeesExchanged) employee\(employeesExchanged == 1 ? "" : "s") exchanged\n"
        guard !challengesByStatus.isEmpty else { return output }
        output += "\n\(totalChallenges) challenge\(totalChallenges == 1 ? "" : "s")\n\n"
        output += TextTable.render(
            header: ["status", "challenges"], rows: challengesByStatus.map { [$0.status, String($0.count)] })
        output += "\n\(selectedChallenges.count) selected, \(mentoredChallenges) with a mentor\n"
        if !selectedChallenges.isEmpty {
            output += "\n"
            output += TextTable.render(
                header: ["challenge", "status", "mentor"],
                rows: selectedChallenges.map {
                    [
                        names.name(of: $0.id, in: challenges), $0.status,
                        $0.mentor.map { names.name(of: $0, in: mentors) } ?? "(none)",
                    ]
                })
        }
        return output
    }
}
