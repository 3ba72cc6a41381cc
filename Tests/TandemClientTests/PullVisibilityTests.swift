import Foundation
import GRDB
import TandemClient
import TandemProtocol
import Testing

/// What a replica does with the items of a pull that say a record arrived or left
/// (docs/visibility.md): an arrival is written whole; a departure removes the row, its version and
/// its pulled history, but keeps pending changes for the server to answer.
@Suite struct PullVisibilityTests {
    /// Answers `GET /v1/pull` with the pages it holds, in turn, and `GET /v1/conflicts` with none.
    final class ScriptedServer: SyncTransport, @unchecked Sendable {
        private let lock = NSLock()
        private var pages: [PullResponse]

        init(_ pages: [PullResponse]) { self.pages = pages }

        func send(_ request: TransportRequest) throws -> TransportResponse {
            let body: JSONValue
            switch request.path {
            case "/v1/pull":
                body =
                    lock.withLock {
                        pages.isEmpty ? PullResponse(items: [], next: 0, more: false) : pages.removeFirst()
                    }
                    .json
            default: body = .array([])
            }
            return TransportResponse(status: 200, body: Array(body.serialized().utf8))
        }
    }

    static let organisation = "0193a1b2-c3d4-7e5f-8a6b-00000000000a"
    static let person = "0193a1b2-c3d4-7e5f-8a6b-0000000000b1"

    static func entry(_ op: TandemProtocol.Operation, _ fields: [String: JSONValue]) -> PullItem.Entry {
        PullItem.Entry(
            changeID: UUIDv7Generator.id(at: HLC(milliseconds: 1_790_000_000_000, counter: 0, device: "d")),
            time: "2026-05-04T10:00:00Z", author: Author(organisation: organisation, role: .member, device: "d"),
            op: op, fields: fields, outcome: Outcome(status: .applied, version: 1), hlc: nil)
    }

    static let ana: [String: JSONValue] = ["organisation": .string(organisation), "full_name": .string("Ana")]

    func replica(
        pages: [PullResponse], organisation: String = "0193a1b2-c3d4-7e5f-8a6b-00000000000c"
    ) throws -> (Replica, SyncEngine) {
        let replica = try Replica.create(in: try DatabaseQueue())
        try replica.remote.set(
            Remote(server: "http://fake", token: "t"), identity: WhoAmI(organisation: organisation, role: .member))
        return (replica, SyncEngine(replica: replica, transport: ScriptedServer(pages)))
    }

    @Test func aRecordThatArrivesIsWrittenWholeAndOneThatLeavesIsRemovedWithItsHistory() throws {
        let arrival = PullItem(
            seq: 4, table: "person", recordID: Self.person, version: 2, isDeleted: false, record: Self.ana, entry: nil)
        let edit = PullItem(
            seq: 6, table: "person", recordID: Self.person, version: 3, isDeleted: false,
            record: Self.ana.merging(["email": .string("ana@x.si")]) { $1 },
            entry: Self.entry(.update, ["email": .string("ana@x.si")]))
        let departure = PullItem(
            seq: 9, table: "person", recordID: Self.person, version: 3, isDeleted: false, record: nil, entry: nil,
            isVisible: false)
        let (replica, engine) = try replica(pages: [
            PullResponse(items: [arrival, edit], next: 6, more: false),
            PullResponse(items: [departure], next: 9, more: false),
        ])
        _ = try engine.pull()
        #expect(try replica.record(in: "person", id: Self.person)["email"] == .text("ana@x.si"))
        #expect(try replica.history(of: "person", id: Self.person).count == 1, "an arrival has no history entry")

        _ = try engine.pull()
        #expect(try replica.records(in: "person").isEmpty)
        #expect(try replica.count("SELECT count(*) FROM tandem_record") == 0)
        #expect(try replica.count("SELECT count(*) FROM tandem_history") == 0, "no personal data stays behind")
        #expect(try replica.status().pending == 0, "leaving is not a delete: nothing to push")
    }

    @Test func aPendingChangeOfARecordThatLeavesStaysForTheServerToAnswer() throws {
        let arrival = PullItem(
            seq: 4, table: "person", recordID: Self.person, version: 2, isDeleted: false, record: Self.ana, entry: nil)
        let departure = PullItem(
            seq: 9, table: "person", recordID: Self.person, version: 2, isDeleted: false, record: nil, entry: nil,
            isVisible: false)
        // Ana's organisation edits her, then a coordinator moves her to another organisation.
        let (replica, engine) = try replica(
            pages: [
                PullResponse(items: [arrival], next: 4, more: false),
                PullResponse(items: [departure], next: 9, more: false),
            ], organisation: Self.organisation)
        _ = try engine.pull()
        _ = try replica.editor.update("person", id: Self.person, [Assignment("title", "Dr")])
        #expect(try replica.status().pending == 1)
        _ = try engine.pull()
        #expect(try replica.records(in: "person").isEmpty, "an update does not make a row by itself")
        #expect(try replica.status().pending == 1, "the server answers it at the next push")
    }
}
