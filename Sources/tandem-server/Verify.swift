import ArgumentParser
import TandemProtocol
import TandemServer

/// `tandem-server verify --data DIR`: checks the whole history as an auditor would.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the whole history: the hash chain, every signature, every kept checkpoint.",
        discussion: """
            Exit 0 and a summary when the history is sound; else exit 65 and one line naming the first bad \
            seq and what is wrong (docs/audit.md).
            """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var output: FormatOptions

    func run() async throws {
        try await Console.reporting {
            let report = try data.open().verify()
            if let failure = report.failure { throw Console.fail("\(failure)", status: 65) }
            switch output.format {
            case .text:
                Console.print(report.summary)
            case .json:
                Console.print(
                    JSONValue.object([
                        JSONMember("entries", .int(report.entries)), JSONMember("seq", .int(report.headSeq)),
                        JSONMember("hash", .string(report.headHash)),
                        JSONMember("checkpoints", .int(Int64(report.checkpoints))),
                    ]).serialized())
            }
        }
    }
}
