import ArgumentParser
import Foundation
import TandemClient

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", _superCommandName: "tandem",
        abstract: "The server's full, tamper-evident history: pull it, verify it, export it.",
        discussion: """
            For auditors and coordinators (a member's token is refused: 77). The history is kept in the \
            replica file (tables tandem_audit_entry and tandem_audit_checkpoint); verify and export work offline.
            """,
        subcommands: [Pull.self, Verify.self, ExportCommand.self])

    struct Pull: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pull",
            abstract: "Fetch the history entries this replica does not hold yet, and the server's checkpoint.",
            discussion: """
                Incremental and safe to interrupt (each page of 5000 entries is stored at once). Every new \
                entry must extend the history already held, and the server's signed checkpoint must match \
                it; otherwise one line starting "tandem: history does not extend" names the seq, nothing of \
                that page is kept, and the exit is 65. Prints "pulled N entries (seq A–B), checkpoint seq S".
                """)

        @OptionGroup var replica: ReplicaOptions

        func run() throws {
            try reporting { () throws(ReplicaError) in
                let engine = try AuditEngine.connecting(try replica.open(), retry: .commandLine)
                let progress = ProgressLine()
                defer { progress.clear() }
                let summary = try engine.pull { entries, seq in
                    progress.show("pulling history: \(entries) entries (seq \(seq))")
                }
                progress.clear()
                emit(summary.description + "\n")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check the pulled history offline: every hash, the chain, every signature, the checkpoints.",
            discussion: """
                Exit 0 and "ok: N entries, head seq S HASH, K checkpoints verified" when it is sound; 65 and \
                one line "tandem: seq N: PROBLEM" naming the first bad seq otherwise; 66 when nothing has \
                been pulled yet.
                """)

        @OptionGroup var replica: ReplicaOptions

        func run() throws {
            try reporting { () throws(ReplicaError) in
                let verification = try replica.open().audit.verify()
                if let failure = verification.failure {
                    throw ReplicaError(.invalidData, failure.description)
                }
                emit(verification.summary + "\n")
            }
        }
    }

    struct ExportCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Print the pulled history: NDJSON lines as the server served them, or CSV.",
            discussion: """
                CSV columns: seq,time,organisation,role,device,table,record_id,op,status,version,reason,hash \
                (RFC 4180 quoting).
                """)

        @Option(name: .long, help: "ndjson (default) or csv.") var format: AuditExportFormat = .ndjson
        @OptionGroup var replica: ReplicaOptions

        func run() throws {
            try reporting { () throws(ReplicaError) in
                try replica.open().audit.export(as: format) { emit($0) }
            }
        }
    }
}
