import ArgumentParser
import TandemClient

struct Retry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", _superCommandName: "tandem",
        abstract: "Queue a change the server refused again, as a new edit (values optionally overridden).",
        discussion: """
            The change (listed by `tandem status` with its fields) is made again on the record as it now \
            stands, with any field=value given laid over its values, and checked as `set` checks it; the \
            next `tandem sync` pushes it. A refused insert becomes a new record with a new id (unless the \
            record exists). Prints the record's id (--format json: the record). No network is needed.
            Example: tandem retry 0193ab registration_id=SI-2
            """)

    @Argument(help: "The refused change's id or a unique prefix of at least 4 characters.") var changeID: String
    @Argument(help: "field=value pairs to use instead of the change's own.") var assignments: [String] = []
    @OptionGroup var replica: ReplicaOptions
    @OptionGroup var output: FormatOptions

    func run() throws {
        try reporting { () throws(ReplicaError) in
            let assignments = try parseAssignments(assignments)
            let opened = try replica.open()
            let (rejection, record) = try opened.editor.retryRejected(changeID, overriding: assignments)
            guard let record else { return }
            emitNew(record, of: try opened.table(rejection.table), as: output.format)
        }
    }
}

struct Dismiss: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dismiss", _superCommandName: "tandem",
        abstract: "Forget a change the server refused.",
        discussion: "No network is needed. Example: tandem dismiss 0193ab")

    @Argument(help: "The refused change's id or a unique prefix of at least 4 characters.") var changeID: String
    @OptionGroup var replica: ReplicaOptions

    func run() throws {
        try reporting { () throws(ReplicaError) in try replica.open().editor.dismissRejected(changeID) }
    }
}
