import ArgumentParser

@main
struct Tandem: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract: "Edit your organisation's Tandem replica, online or off.",
        discussion: """
            The replica is one SQLite file (--db, or TANDEM_DB, or $XDG_DATA_HOME/tandem/replica.sqlite).
            Every editing command works with no server. Exit codes follow sysexits: 64 usage, 65 invalid
            data, 66 no such table, record or file, 70 internal error, 73 cannot create or write, 75 try again.
            """,
        version: "0.1.0",
        subcommands: [
            Init.self, Add.self, Set.self, Remove.self, Get.self, List.self, Import.self, Export.self, Status.self,
            Report.self,
        ]
    )
}
