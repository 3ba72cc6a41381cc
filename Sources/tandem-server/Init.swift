import ArgumentParser
import TandemProtocol
import TandemServer

/// `tandem-server init --data DIR`: a new store, and the first coordinator token, shown once.
struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the server's store in DIR (created if absent) and print a coordinator token.",
        discussion: "Refuses (exit 73) a DIR that already holds a store. The token is shown only this once."
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var output: FormatOptions

    func run() async throws {
        try await Console.reporting {
            let created = try await data.location().create(now: ServerClock.wall())
            switch output.format {
            case .text: Console.print(created.coordinatorToken)
            case .json:
                Console.print(JSONValue.object([JSONMember("token", .string(created.coordinatorToken))]).serialized())
            }
        }
    }
}
