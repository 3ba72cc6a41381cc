import ArgumentParser
import TandemProtocol
import TandemServer

/// `tandem-server migrate --data DIR --database URL`: the SQLite store in DIR copied into a
/// PostgreSQL database that holds no Tandem store yet.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the SQLite store in DIR into an empty PostgreSQL database, history and keys included.",
        discussion: """
            Stop tandem-server serve first: a store written during the copy is refused (exit 65), and the \
            database is left as it was. The copy is one transaction: all of it or nothing. It is verified \
            afterwards (the chain, every signature, every checkpoint) and names the same head as the SQLite \
            store. DIR keeps its SQLite store; serve the copy with --database URL (docs/operations.md). Exit \
            73 when the database already holds a Tandem store, 66 when DIR holds none, 69 when the database \
            cannot be reached.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The folder holding the SQLite store to copy.", valueName: "dir"))
    var data: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The PostgreSQL database to copy into (postgres://USER@HOST:PORT/DB[?sslmode=…]).", valueName: "url"))
    var database: String

    @OptionGroup var output: FormatOptions

    func run() async throws {
        try await Console.reporting {
            let url = try PostgresURL(database)
            let copied = try await StoreCopy.copy(from: data, to: url)
            let store = try await StoreLocation.postgres(url, directory: nil).open()
            let report = try await store.verify()
            if let failure = report.failure {
                throw Console.fail("the copy fails verification: \(failure)", status: 70)
            }
            guard report.headSeq == copied.head.seq, report.headHash == copied.head.hash else {
                throw Console.fail(
                    "the copy's head (seq \(report.headSeq)) is not the store's (seq \(copied.head.seq))", status: 70)
            }
            switch output.format {
            case .text:
                Console.print(
                    "copied \(copied.rows["record", default: 0]) records and \(copied.rows["log", default: 0]) entries into \(url); \(report.summary)"
                )
            case .json:
                Console.print(
                    JSONValue.object([
                        JSONMember("database", .string(url.description)),
                        JSONMember(
                            "rows",
                            .object(
                                copied.rows.sorted { $0.key < $1.key }.map {
                                    JSONMember($0.key, .int(Int64($0.value)))
                                })),
                        JSONMember("seq", .int(report.headSeq)), JSONMember("hash", .string(report.headHash)),
                    ]).serialized())
            }
        }
    }
}
