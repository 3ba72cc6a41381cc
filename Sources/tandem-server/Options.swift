import ArgumentParser
import TandemServer

/// `--data DIR [--database URL]`: the folder that holds the store (SQLite), or the record of
/// the PostgreSQL database that does.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The folder holding the server's store.", valueName: "dir"))
    var data: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A PostgreSQL store instead of SQLite (postgres://USER@HOST:PORT/DB[?sslmode=…]); the password comes from PGPASSWORD or ?passfile=PATH.",
            valueName: "url"))
    var database: String?

    /// Where the store is (the one place that knows the kinds of store: ``StoreLocation``).
    func location() throws -> StoreLocation { try StoreLocation.given(data: data, database: database) }

    func open() async throws -> any ServerStore { try await location().open() }
}

/// `--format text|json` for the admin commands: a value a line, or `{"token": …}`.
struct FormatOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(name: .long, help: "Output format: text (a value a line) or json.")
    var format: Format = .text
}
