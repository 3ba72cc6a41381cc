import ArgumentParser
import Foundation
import TandemProtocol
import TandemServer

/// `tandem-server schema …`: the schema the server merges with.
struct SchemaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema", abstract: "Evolve the schema.", subcommands: [Apply.self])

    /// `tandem-server schema apply --data DIR FILE`.
    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install a new version of the schema document (additive changes only).",
            discussion: """
                FILE is a schema document, as GET /v1/schema serves it. Accepted: new tables, new optional \
                fields, new enum values, new or changed rules, defaults and constraints; the version becomes \
                the installed one + 1, logged as a server-signed history entry. Anything else is refused \
                (exit 65, one line naming what); a missing FILE is 66 (docs/schema.md).
                """)

        @OptionGroup var data: DataOptions

        @Argument(help: ArgumentHelp("The schema document (JSON).", valueName: "file"))
        var file: String

        @OptionGroup var output: FormatOptions

        func run() async throws {
            try await Console.reporting {
                guard let bytes = FileManager.default.contents(atPath: file) else {
                    throw Console.fail("\(file): no such file", status: 66)
                }
                let proposed: Schema
                do throws(ProtocolError) {
                    proposed = try Schema.decode(Array(bytes))
                } catch {
                    throw Console.fail("\(file): \(error.message)", status: 65)
                }
                let store = try await data.open()
                let (installed, seq) = try await store.applySchema(proposed, now: ServerClock.wall())
                switch output.format {
                case .text:
                    Console.print("installed schema \(installed.name) v\(installed.version) (seq \(seq))")
                case .json:
                    Console.print(
                        JSONValue.object([
                            JSONMember("name", .string(installed.name)),
                            JSONMember("version", .int(Int64(installed.version))), JSONMember("seq", .int(seq)),
                        ]).serialized())
                }
            }
        }
    }
}
