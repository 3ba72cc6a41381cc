import ArgumentParser
import TandemProtocol
import TandemServer

/// `tandem-server verify --data DIR`: checks the whole history as an auditor would.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the whole history: the hash chain, every signature, every kept checkpoint.",
        discussion: """
            Exit 0 and a summary when the history is sound; else exit 65 and one line naming the first bad \
            seq and what is wrong (docs/audit.md). Also 65 while the store's head is older than a \
            checkpoint a replica or an auditor presented to it (the store was restored from an older copy \
            or rolled back: docs/operations.md); every such report is listed on stderr, also once the head \
            has moved past it.
            """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var output: FormatOptions

    func run() async throws {
        try await Console.reporting {
            let store = try await data.open()
            let report = try await store.verify()
            if let failure = report.failure { throw Console.fail("\(failure)", status: 65) }
            let (head, rollbacks) = try await store.rollbackReports()
            if let behind = rollbacks.first(where: { $0.isBehind(head: head) }) {
                Console.error(RollbackReport.behindLine(behind, head: head))
                for rollback in rollbacks { Console.error("rollback reported: \(rollback.summary)") }
                throw ExitCode(65)
            }
            for rollback in rollbacks { Console.error("rollback reported: \(rollback.summary)") }
            let withdrawn = try await store.withdrawnGrants()
            switch output.format {
            case .text:
                Console.print(report.summary)
                for grant in withdrawn {
                    Console.print(
                        "withdrawn: \(grant.table) \(grant.recordID) breaks a constraint and grants no sight (since seq \(grant.seq))"
                    )
                }
            case .json:
                Console.print(
                    JSONValue.object([
                        JSONMember("entries", .int(report.entries)), JSONMember("seq", .int(report.headSeq)),
                        JSONMember("hash", .string(report.headHash)),
                        JSONMember("checkpoints", .int(Int64(report.checkpoints))),
                        JSONMember(
                            "withdrawn_grants",
                            .array(
                                withdrawn.map {
                                    .object([
                                        JSONMember("table", .string($0.table)),
                                        JSONMember("record_id", .string($0.recordID)), JSONMember("seq", .int($0.seq)),
                                    ])
                                })),
                        JSONMember("rollback_reports", .int(Int64(rollbacks.count))),
                    ]).serialized())
            }
        }
    }
}
