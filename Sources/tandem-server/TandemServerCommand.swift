import ArgumentParser
import TandemServer

@main
struct TandemServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem-server",
        abstract: "The Tandem sync server.",
        discussion: """
            Not built yet: this release has the offline replica and the tandem CLI only. The server
            (init, serve, org add, token issue/revoke, verify) arrives with the sync issue; see README.md.
            Defaults it will use: --host \(ServerConfiguration.defaultHost) --port \(ServerConfiguration.defaultPort).
            """,
        version: "0.1.0"
    )
}
