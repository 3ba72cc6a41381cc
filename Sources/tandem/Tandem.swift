import ArgumentParser

@main
struct Tandem: ParsableCommand {
    static let subcommands: [any ParsableCommand.Type] = [
        Init.self, Add.self, Set.self, Remove.self, Get.self, List.self, Import.self, Export.self, Status.self,
        Report.self, Remote.self, Sync.self, Conflicts.self, Resolve.self, History.self, Audit.self, Retry.self,
        Dismiss.self, SchemaCommand.self, Bundle.self,
        Check.self, Erase.self,
    ]

    static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract: "Edit your organisation's Tandem replica, online or off.",
        discussion: """
            The replica is one SQLite file (--db, or TANDEM_DB, or $XDG_DATA_HOME/tandem/replica.sqlite). \
            Every editing command works with no server. Exit codes follow sysexits: 64 usage, 65 invalid \
            data, 66 no such table, record or file, 69 server unreachable, 70 internal error, 73 cannot \
            create or write, 75 try again, 77 not permitted.
            """,
        version: "0.1.0",
        subcommands: subcommands
    )

    /// Runs the subcommand named first on the command line directly, so that a one-edit call does
    /// not pay for building the whole command tree (most of ArgumentParser's start-up cost);
    /// anything else (no subcommand, `--help`, `--version`) goes through the root as usual.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let name = arguments.first,
            let command = subcommands.first(where: { $0.configuration.commandName == name })
        {
            command.main(Array(arguments.dropFirst()))
            return
        }
        main(nil)
    }
}
