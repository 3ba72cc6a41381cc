import ArgumentParser
import Foundation
import TandemServer

@main
struct TandemServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem-server",
        abstract: "The Tandem sync server and its administration.",
        discussion: """
            The server keeps everything in --data DIR (a SQLite store). Admin commands (org add, token \
            issue/revoke) may run while serve runs and take effect at once. Exit codes follow sysexits: \
            64 usage, 65 invalid data (incl. a history that fails verify), 66 no store in DIR, 69 a database that cannot be reached, 70 internal error, 73 cannot create.
            """,
        version: ServerBuild.version,
        subcommands: [Init.self, Serve.self, Org.self, Token.self, Verify.self, SchemaCommand.self, Migrate.self]
    )

    /// Parses and runs as ArgumentParser does, but reports a usage error as one line on stderr
    /// (`tandem-server: …`) with its sysexits code, like every other failure.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if error is ExitCode || code == .success { exit(withError: error) }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            Console.error(message)
            exit(withError: ExitCode(code.rawValue))
        }
    }
}
