import ArgumentParser
import TandemClient
import TandemProtocol

struct Erase: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase", _superCommandName: "tandem",
        abstract: "Coordinators: erase a record's personal data everywhere.",
        discussion: """
            The record and its id stay (references still hold); every personal field becomes null, and \
            the record can no longer be edited (a later change is rejected `erased`). The server deletes \
            the values and their salts and logs an erasure entry; this replica then syncs and drops them \
            too (SPEC §8, docs/audit.md "Personal data"). Prints one line (--format json: the server's \
            answer, {"seq", "version", "erased", "unerasable"}); when older entries hold the values inside \
            the history's chain (made before personal data was committed to), a second line on stderr \
            says how many. Exit 65 for a table without personal data (nothing is asked), 66 for a record \
            this replica does not hold, 77 for a token that is not a coordinator's, 69 when the server \
            cannot be reached; a record erased already is 0, said so.
            Example: tandem erase person 0193ab
            """)

    @Argument(help: "The table (one with personal data, such as person).") var table: String
    @Argument(help: "The record's id or a unique prefix of at least 4 characters.") var id: String
    @OptionGroup var replica: ReplicaOptions
    @OptionGroup var output: FormatOptions

    func run() throws {
        try reporting { () throws(ReplicaError) in
            let opened = try replica.open()
            let engine = try SyncEngine.connecting(opened, retry: .commandLine)
            let erasure = try engine.erase(table, id: id)
            guard let response = erasure.response else {
                if output.format == .json {
                    emit(
                        JSONValue.object([
                            JSONMember("record_id", .string(erasure.recordID)),
                            JSONMember("already_erased", .bool(true)),
                        ]).serialized() + "\n")
                } else {
                    emit("\(table) \(erasure.recordID): its personal data was erased already\n")
                }
                return
            }
            if output.format == .json {
                emit(response.json.serialized() + "\n")
            } else {
                let count = response.erased.count
                emit(
                    "erased \(table) \(erasure.recordID): \(count) field\(count == 1 ? "" : "s"); seq \(response.seq)\n"
                )
            }
            if response.unerasable > 0 {
                let noun = response.unerasable == 1 ? "entry" : "entries"
                warn(
                    "\(response.unerasable) older history \(noun) of this record keep its values inside the chain "
                        + "(made before personal data was committed to); they cannot be erased without breaking it "
                        + "(docs/audit.md, Personal data)")
            }
        }
    }
}
