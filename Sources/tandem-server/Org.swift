import ArgumentParser
import TandemProtocol
import TandemServer

/// `tandem-server org …`: organisations.
struct Org: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage organisations.", subcommands: [Add.self])

    /// `tandem-server org add --data DIR --name N --sector S`.
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an organisation; print its id and a member token (a line each).")

        @OptionGroup var data: DataOptions

        @Option(name: .long, help: "The organisation's name.")
        var name: String

        @Option(name: .long, help: "Its sector, one of the schema's (public, private, ngo, …).")
        var sector: String

        @OptionGroup var output: FormatOptions

        func run() async throws {
            try await Console.reporting {
                let store = try await data.open()
                if let field = Self.sectorField(in: store.schema), let values = field.values, !values.contains(sector) {
                    throw Console.fail(
                        "organisation.sector: \"\(sector)\" is not one of \(values.joined(separator: ", "))", status: 65
                    )
                }
                let created = try await store.addOrganisation(name: name, sector: sector, now: ServerClock.wall())
                switch output.format {
                case .text:
                    Console.print(created.id)
                    Console.print(created.token)
                case .json:
                    Console.print(
                        JSONValue.object([
                            JSONMember("id", .string(created.id)), JSONMember("token", .string(created.token)),
                        ])
                        .serialized())
                }
            }
        }

        /// The `sector` field of the schema's organisation table, when it has one.
        static func sectorField(in schema: Schema) -> FieldSchema? {
            schema.tables.first { $0.owners == ["id"] }?.fields.first { $0.name == "sector" }
        }
    }
}
