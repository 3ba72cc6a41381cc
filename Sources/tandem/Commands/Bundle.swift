import ArgumentParser
import Foundation
import TandemClient

struct Bundle: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle", _superCommandName: "tandem",
        abstract: "Carry changes without a network: signed bundle files (sneakernet).",
        discussion: """
            A bundle is a gzip file of JSON lines, signed as a whole (docs/sync.md, Bundles). A truncated, \
            altered or foreign file is refused with one line and exit 65; nothing is queued.
            """,
        subcommands: [ExportBundle.self, ImportBundle.self])

    struct ExportBundle: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract:
                "Write this replica's pending changes, signed by its device, to FILE (or, --for, an organisation's view).",
            discussion: """
                The changes stay pending: when this replica syncs later, the server answers duplicate for \
                those a bundle brought first, and the outbox clears. A replica made with tandem init --org \
                carries its device's key and organisation, which the server registers when a coordinator's \
                replica pushes the bundle.
                Example: tandem bundle export /media/usb/ministry.tandem
                """)

        @Argument(help: "The file to write.") var file: String
        @Option(
            name: .customLong("for"),
            help: "A coordinator online: write what organisation ORG may see, signed by the server.")
        var organisation: String?
        @Option(
            name: .long, help: "With --for: only what came after this seq (the organisation's replica holds up to it).")
        var since: Int64?
        @OptionGroup var replica: ReplicaOptions

        func validate() throws {
            guard since == nil || organisation != nil else { throw ValidationError("--since goes with --for.") }
            guard (since ?? 0) >= 0 else { throw ValidationError("--since: expected a seq, 0 or more.") }
        }

        func run() throws {
            try reporting { () throws(ReplicaError) in
                let opened = try replica.open()
                if let organisation {
                    let engine = try SyncEngine.connecting(opened, retry: .commandLine)
                    let (bytes, bundle) = try engine.api.incomingBundle(for: organisation, since: since ?? 0)
                    try BundleFile.write(bytes, to: file)
                    emit(
                        "Wrote \(bundle.count) item\(bundle.count == 1 ? "" : "s") for organisation \(organisation) "
                            + "(seq \(bundle.since)–\(bundle.next)), signed by the server, to \(file)\n")
                    return
                }
                let bundle = try opened.bundles.outgoing()
                let bytes = try bundle.file(signedWith: try opened.deviceKey())
                try BundleFile.write(bytes, to: file)
                let count = bundle.changes.count
                emit("Wrote \(count) change\(count == 1 ? "" : "s") of device \(bundle.device) to \(file)\n")
            }
        }
    }

    struct ImportBundle: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Queue another replica's bundle (the next sync pushes it), or apply the server's bundle.",
            discussion: """
                A replica's bundle: a coordinator's replica may carry any, a member's replica its own \
                organisation's (otherwise 77). Importing the same bundle again queues nothing; the server \
                answers duplicate for changes it has already.
                The server's bundle for an organisation (bundle export --for) is applied like a pull, once its \
                signature is checked against the server's key the replica knows (the first bundle or sync \
                teaches it); one for another organisation, signed by another key, or older than what the \
                replica holds is refused (65). The next sync continues from where it reached.
                Example: tandem bundle import /media/usb/ministry.tandem && tandem sync
                """)

        @Argument(help: "The bundle file.") var file: String
        @OptionGroup var replica: ReplicaOptions

        func run() throws {
            try reporting { () throws(ReplicaError) in
                let read = try ReadBundle(file: try BundleFile.read(file))
                guard case let .changes(bundle) = read else {
                    guard case let .pull(incoming) = read else { return }
                    let applied = try replica.open().bundles.apply(incoming)
                    emit(
                        applied == 0
                            ? "Nothing new: this replica holds seq \(incoming.next) already\n"
                            : "Applied \(applied) item\(applied == 1 ? "" : "s") (seq \(incoming.since)–\(incoming.next)) "
                                + "from the server's bundle of \(incoming.created)\n")
                    return
                }
                let queued = try replica.open().bundles.queue(bundle)
                var line = "Queued \(queued.queued) change\(queued.queued == 1 ? "" : "s") of device \(bundle.device)"
                if queued.known > 0 { line += " (\(queued.known) queued or pushed before)" }
                emit(line + "; tandem sync pushes them\n")
            }
        }
    }
}
