import ArgumentParser
import TandemProtocol
import TandemServer

/// `tandem-server token …`: tokens.
struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Issue and revoke tokens.", subcommands: [Issue.self, Revoke.self])

    /// `tandem-server token issue --data DIR --role member|coordinator|auditor [--org ID]`.
    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a token and print it (shown only this once).",
            discussion: "Member tokens need --org, the id of an organisation (from org add).")

        enum TokenRole: String, ExpressibleByArgument, CaseIterable {
            case member, coordinator, auditor
        }

        @OptionGroup var data: DataOptions

        @Option(name: .long, help: "member, coordinator or auditor.")
        var role: TokenRole

        @Option(name: .long, help: ArgumentHelp("The organisation of a member token.", valueName: "id"))
        var org: String?

        @Flag(
            name: .long,
            help:
                "An auditor's token that receives personal values (SPEC §8); without it an auditor verifies from the commitments alone."
        )
        var personal = false

        @OptionGroup var output: FormatOptions

        func run() async throws {
            if role == .member, org?.isEmpty ?? true {
                throw Console.fail("a member token needs --org ID", status: 64)
            }
            if personal, role != .auditor {
                throw Console.fail(
                    "--personal is for auditor tokens (members and coordinators receive the personal values they may see)",
                    status: 64)
            }
            try await Console.reporting {
                let store = try await data.open()
                let role = Role(rawValue: role.rawValue) ?? .auditor
                let token = try await store.issueToken(
                    role: role, organisation: org, seesPersonalValues: personal, now: ServerClock.wall())
                Console.printToken(token, format: output.format)
            }
        }
    }

    /// `tandem-server token revoke --data DIR --token TOKEN`.
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token at once (a running server refuses it from its next request).")

        @OptionGroup var data: DataOptions

        @Option(name: .long, help: "The token to revoke.")
        var token: String

        @OptionGroup var output: FormatOptions

        func run() async throws {
            try await Console.reporting {
                let store = try await data.open()
                guard try await store.revoke(token: token, now: ServerClock.wall()) else {
                    throw Console.fail("no active token matches the one given", status: 65)
                }
                Console.printToken(token, format: output.format, revoked: true)
            }
        }
    }
}

extension Console {
    /// A token alone on a line, or `{"token": …}` (with `"revoked": true` after a revocation).
    static func printToken(_ token: String, format: FormatOptions.Format, revoked: Bool = false) {
        switch format {
        case .text where revoked: break
        case .text: print(token)
        case .json:
            var members = [JSONMember("token", .string(token))]
            if revoked { members.append(JSONMember("revoked", .bool(true))) }
            print(JSONValue.object(members).serialized())
        }
    }
}
