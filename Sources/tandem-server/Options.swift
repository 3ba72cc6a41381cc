import ArgumentParser
import TandemServer

/// `--data DIR`: the folder that holds the store.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The folder holding the server's store.", valueName: "dir"))
    var data: String

    /// Where the store is (the one place that knows the kinds of store: ``StoreLocation``).
    var location: StoreLocation { .directory(data) }

    func open() throws -> any ServerStore { try location.open() }
}

/// `--format text|json` for the admin commands: a value a line, or `{"token": …}`.
struct FormatOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(name: .long, help: "Output format: text (a value a line) or json.")
    var format: Format = .text
}
