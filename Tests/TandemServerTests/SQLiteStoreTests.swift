import GRDB
import TandemProtocol
import TandemTesting
import Testing

@testable import TandemServer

/// The store with the merge inside it: what two organisations editing offline end up with.
@Suite struct SQLiteStoreTests {
    let store: SQLiteServerStore
    let coordinator = Principal(tokenID: "c", organisation: nil, role: .coordinator)
    let now: Int64 = 1_790_000_000_000
    var ministry = ""
    var company = ""

    init() async throws {
        store = try SQLiteServerStore.create(in: try DatabaseQueue())
        ministry = try await store.addOrganisation(name: "Ministry", sector: "public", now: now).id
        company = try await store.addOrganisation(name: "Kovina", sector: "private", now: now).id
    }

    func member(_ organisation: String) -> Principal {
        Principal(tokenID: organisation, organisation: organisation, role: .member)
    }

    /// A change at `now + offset` ms from `device`.
    func change(
        _ op: TandemProtocol.Operation, _ table: String, _ id: String, _ fields: [String: JSONValue], base: Int64,
        device: String, offset: Int64 = 0
    ) -> Change {
        let clock = HLC(milliseconds: now + offset, counter: 0, device: device)
        return Change(
            changeID: UUIDv7Generator.id(at: clock), table: table, recordID: id, op: op, fields: fields,
            baseVersion: base, hlc: clock.description, device: device)
    }

    func newID() -> String { UUIDv7Generator.id(at: HLC(milliseconds: now, counter: 0, device: "")) }

    /// A round, a person of the ministry, and an exchange between ministry (home) and company (host).
    func exchange() async throws -> String {
        let round = newID()
        let person = newID()
        let exchange = newID()
        let results = try await store.pushSigned(
            [
                change(.insert, "round", round, ["number": .int(5)], base: 0, device: "c1"),
                change(
                    .insert, "person", person, ["organisation": .string(ministry), "full_name": .string("Ana")],
                    base: 0, device: "c1"),
                change(
                    .insert, "exchange", exchange,
                    [
                        "round": .string(round), "person": .string(person), "home": .string(ministry),
                        "host": .string(company),
                        "starts_on": .string("2026-05-04"), "ends_on": .string("2026-05-08"),
                    ], base: 0, device: "c1"),
            ], by: coordinator, now: now)
        #expect(results.map(\.status) == [.applied, .applied, .applied], "\(results)")
        return exchange
    }

    func record(_ id: String) async throws -> RecordState? {
        try await store.read { db in try self.store.loadRecord(id, db: db) }
    }

    @Test func twoOrganisationsEditingOneExchangeOfflineMergeFieldByField() async throws {
        let id = try await exchange()
        let home = try await store.pushSigned(
            [change(.update, "exchange", id, ["goals": .string("learn")], base: 1, device: "ministry-laptop")],
            by: member(ministry), now: now)
        let host = try await store.pushSigned(
            [
                change(
                    .update, "exchange", id, ["notes": .string("desk ready")], base: 1, device: "kovina-pc", offset: 5)
            ],
            by: member(company), now: now)
        #expect(home[0].status == .applied && home[0].version == 2)
        #expect(host[0].status == .merged && host[0].version == 3)
        let state = try #require(try await record(id))
        #expect(state["goals"] == .string("learn") && state["notes"] == .string("desk ready"))
    }

    @Test func aManualConflictOnStartsOnIsHeldUntilTheCoordinatorResolvesIt() async throws {
        let id = try await exchange()
        _ = try await store.pushSigned(
            [change(.update, "exchange", id, ["starts_on": .string("2026-05-05")], base: 1, device: "m")],
            by: member(ministry), now: now)
        let second = try await store.pushSigned(
            [change(.update, "exchange", id, ["starts_on": .string("2026-05-06")], base: 1, device: "k", offset: 9)],
            by: member(company), now: now)
        #expect(second[0].status == .conflict)
        #expect(try await record(id)?["starts_on"] == .string("2026-05-05"))
        let open = try await store.conflicts(for: coordinator, includeResolved: false)
        #expect(open.count == 1)
        #expect(
            open[0].field == "starts_on" && open[0].current == .string("2026-05-05")
                && open[0].incoming == .string("2026-05-06"))
        let resolved = try await store.resolve(conflict: open[0].id, with: .keepIncoming, by: coordinator, now: now)
        #expect(resolved.status == .resolved && resolved.current == .string("2026-05-06"))
        #expect(try await store.conflicts(for: coordinator, includeResolved: false).isEmpty)
        #expect(try await store.conflicts(for: coordinator, includeResolved: true).count == 1)
        let again = await #expect(throws: ServerError.self) {
            try await store.resolve(conflict: open[0].id, with: .keepCurrent, by: coordinator, now: now)
        }
        #expect(again?.kind == .conflict)
        let outsider = try await store.addOrganisation(name: "Tree", sector: "ngo", now: now).id
        _ = try await store.pushSigned(
            [change(.update, "exchange", id, ["ends_on": .string("2026-05-09")], base: 4, device: "m")],
            by: member(ministry), now: now)
        _ = try await store.pushSigned(
            [change(.update, "exchange", id, ["ends_on": .string("2026-05-10")], base: 4, device: "k", offset: 3)],
            by: member(company), now: now)
        let next = try await store.conflicts(for: coordinator, includeResolved: false)
        let forbidden = await #expect(throws: ServerError.self) {
            try await store.resolve(conflict: next[0].id, with: .keepCurrent, by: member(outsider), now: now)
        }
        // An organisation that may not read the exchange is told no such conflict exists.
        #expect(forbidden?.kind == .notFound)
        // An owner may resolve; a value that breaks the date order is refused and nothing changes.
        let refused = await #expect(throws: ServerError.self) {
            try await store.resolve(
                conflict: next[0].id, with: .value(.string("2026-01-01")), by: member(company), now: now)
        }
        #expect(refused?.kind == .unprocessable)
        _ = try await store.resolve(conflict: next[0].id, with: .keepCurrent, by: member(company), now: now)
    }

    @Test func lastWriterWinsOnStatusAndTheLoserIsInTheLog() async throws {
        let id = try await exchange()
        let later = change(.update, "exchange", id, ["status": .string("confirmed")], base: 1, device: "m", offset: 50)
        let earlier = change(
            .update, "exchange", id, ["status": .string("cancelled")], base: 1, device: "k", offset: 10)
        _ = try await store.pushSigned([later], by: member(ministry), now: now)
        let result = try await store.pushSigned([earlier], by: member(company), now: now)
        #expect(result[0].status == .conflict)
        #expect(try await record(id)?["status"] == .string("confirmed"))
        let page = try await store.pull(since: 0, limit: 100, for: coordinator)
        let entry = try #require(page.items.last?.entry)
        #expect(
            entry.outcome.conflicts == [
                FieldConflict(field: "status", rule: .lww, kept: .string("confirmed"), lost: .string("cancelled"))
            ])
    }

    @Test func deleteWinsOverAConcurrentUpdate() async throws {
        let id = try await exchange()
        _ = try await store.pushSigned(
            [change(.update, "exchange", id, ["notes": .string("x")], base: 1, device: "k")], by: member(company),
            now: now)
        let deleted = try await store.pushSigned(
            [change(.delete, "exchange", id, [:], base: 1, device: "m")], by: member(ministry), now: now)
        #expect(deleted[0].status == .merged)
        let late = try await store.pushSigned(
            [change(.update, "exchange", id, ["goals": .string("y")], base: 1, device: "k")], by: member(company),
            now: now)
        #expect(late[0].status == .rejected && late[0].reason == "deleted")
        #expect(try await record(id)?.isDeleted == true)
    }

    @Test func aUniqueCollisionIsRejectedWithTheField() async throws {
        let first = try await store.pushSigned(
            [change(.update, "organisation", ministry, ["registration_id": .string("SI-1")], base: 1, device: "m")],
            by: member(ministry), now: now)
        #expect(first[0].status == .applied)
        let second = try await store.pushSigned(
            [change(.update, "organisation", company, ["registration_id": .string("SI-1")], base: 1, device: "k")],
            by: member(company), now: now)
        #expect(second[0].status == .rejected && second[0].reason == "unique:registration_id")
    }

    @Test func aRePushedChangeIsADuplicateAndIsLoggedOnce() async throws {
        let id = try await exchange()
        let edit = change(.update, "exchange", id, ["goals": .string("learn")], base: 1, device: "m")
        let first = try await store.pushSigned([edit], by: member(ministry), now: now)
        let again = try await store.pushSigned([edit, edit], by: member(ministry), now: now)
        #expect(again.map(\.status) == [.duplicate, .duplicate])
        #expect(again.map(\.seq) == [first[0].seq, first[0].seq])
        #expect(again[0].version == first[0].version)
        let page = try await store.pull(since: 0, limit: 1000, for: coordinator)
        #expect(page.items.filter { $0.entry?.changeID == edit.changeID }.count == 1)
        // Seqs stay gap-free in the history (pull leaves out the device registrations).
        let history = try await store.history(since: 0, limit: 1000)
        #expect(history.map(\.seq) == Array(1...(try await store.headSeq())))
        #expect(try history.filter { try $0.entry.change["change_id"] == .string(edit.changeID) }.count == 1)
        #expect(try await record(id)?.version == 2)
    }

    @Test func aMemberCannotWriteAnotherOrganisationsRecordAndAuditorsWriteNothing() async throws {
        let id = try await exchange()
        let outsider = try await store.addOrganisation(name: "Tree", sector: "ngo", now: now).id
        let refused = try await store.pushSigned(
            [change(.update, "exchange", id, ["notes": .string("mine now")], base: 1, device: "t")],
            by: member(outsider), now: now)
        // The outsider may not read the exchange either: it is answered as missing (docs/security.md).
        #expect(refused[0].status == .rejected && refused[0].reason == "missing" && refused[0].version == nil)
        let stolen = try await store.pushSigned(
            [change(.update, "exchange", id, ["host": .string(outsider)], base: 1, device: "k")], by: member(company),
            now: now)
        #expect(stolen[0].reason == "not_permitted")
        // An auditor cannot register a device, so nothing it pushes carries a valid signature.
        let auditor = Principal(tokenID: "a", organisation: nil, role: .auditor)
        let audited = try await store.pushSigned(
            [change(.update, "exchange", id, ["notes": .string("x")], base: 1, device: "a")], by: auditor, now: now)
        #expect(audited[0].status == .rejected && audited[0].reason == "signature")
        #expect(try await record(id)?.version == 1)
    }

    @Test func pullPagesThroughTheLogWithRecordsAsTheyStand() async throws {
        let id = try await exchange()
        _ = try await store.pushSigned(
            [change(.update, "exchange", id, ["goals": .string("g")], base: 1, device: "m")], by: member(ministry),
            now: now)
        let first = try await store.pull(since: 0, limit: 2, for: coordinator)
        #expect(first.items.count == 2 && first.more && first.next == first.items.last?.seq)
        var since = first.next
        var items = first.items
        while true {
            let page = try await store.pull(since: since, limit: 2, for: coordinator)
            items += page.items
            since = page.next
            if !page.more { break }
        }
        // Every entry but the device registrations, in seq order.
        let entries = try await store.history(since: 0, limit: 1000).filter { try !$0.isDeviceRegistration }
        #expect(items.map(\.seq) == entries.map(\.seq))
        let last = try #require(items.last)
        #expect(last.recordID == id && last.version == 2 && last.record?["goals"] == .string("g"))
        #expect(try await store.pull(since: since, limit: 2, for: coordinator).items.isEmpty)
    }

    @Test func tokensAreHashedAuthenticatedAndRevokedAtOnce() async throws {
        let token = try await store.issueToken(role: .auditor, organisation: nil, now: now)
        #expect(token.hasPrefix("tdm_") && token.count == 52)
        #expect(try await store.authenticate(token: token)?.role == .auditor)
        let stored = try await store.read { db in try String.fetchAll(db, sql: "SELECT hash FROM token") }
        #expect(!stored.contains(token))
        #expect(try await store.revoke(token: token, now: now))
        #expect(try await store.authenticate(token: token) == nil)
        #expect(try await store.revoke(token: token, now: now) == false)
        await #expect(throws: ServerError.self) {
            try await store.issueToken(role: .member, organisation: nil, now: now)
        }
        await #expect(throws: ServerError.self) {
            try await store.issueToken(role: .member, organisation: "0193aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee", now: now)
        }
    }

    @Test func organisationsAreAddedByTheServerAsLoggedChanges() async throws {
        let page = try await store.pull(since: 0, limit: 10, for: coordinator)
        #expect(page.items.count == 2)
        #expect(page.items[0].entry?.author.role == .server)
        #expect(page.items[0].record?["sector"] == .string("public"))
        await #expect(throws: ServerError.self) {
            try await store.addOrganisation(name: "X", sector: "pirate", now: now)
        }
    }
    /// What the history writes reads back: numbers as RFC 8785 writes them (an integral double
    /// beyond 2^53 has no exponent, `9300000000000000000`) pull and verify as what was pushed.
    @Test(arguments: [9.3e18, -1e20, 1e21, 0.1, 1e-7, Double.leastNonzeroMagnitude])
    func anyPushedNumberPullsAndVerifies(number: Double) async throws {
        let round = change(
            .insert, "round", newID(), ["number": .double(number), "title": .double(number)], base: 0, device: "d")
        let result = try #require(try await store.pushSigned([round], by: coordinator, now: now).first)
        #expect(result.status == .rejected, "a round's number is an int: \(result)")
        let page = try await store.pull(since: 0, limit: 1000, for: coordinator)
        let entry = try #require(page.items.first { $0.recordID == round.recordID }?.entry)
        #expect(entry.fields["number"] == .double(number))
        #expect(try store.verify().failure == nil)
    }
}

/// Boundaries of identity (SPEC §6): the author is the token's, whatever the body says; a
/// removed organisation's tokens stop working.
@Suite struct IdentityBoundaryTests {
    let now: Int64 = 1_790_000_000_000

    @Test func anAuthorOrOrganisationInThePushBodyIsIgnored() async throws {
        let store = try SQLiteServerStore.create(in: try DatabaseQueue())
        let ministry = try await store.addOrganisation(name: "Ministry", sector: "public", now: now).id
        let company = try await store.addOrganisation(name: "Kovina", sector: "private", now: now).id
        let clock = HLC(milliseconds: now, counter: 0, device: "m")
        let body = """
            {"changes": [{"change_id": "\(UUIDv7Generator.id(at: clock))", "table": "organisation",
              "record_id": "\(ministry)", "op": "update", "fields": {"web": "https://gov.example"},
              "base_version": 1, "hlc": "\(clock)", "device": "m",
              "author": {"organisation": "\(company)", "role": "coordinator"},
              "organisation": "\(company)", "role": "coordinator"}],
             "author": {"organisation": "\(company)", "role": "coordinator"}}
            """
        let request = try PushRequest(json: JSONValue.parse(body))
        let member = Principal(tokenID: "t", organisation: ministry, role: .member)
        let results = try await store.pushSigned(request.changes, by: member, now: now)
        #expect(results[0].status == .applied)
        let coordinator = Principal(tokenID: "c", organisation: nil, role: .coordinator)
        let entry = try #require(
            try await store.pull(since: 0, limit: 10, for: coordinator).items.first {
                $0.entry?.changeID == request.changes[0].changeID
            }?.entry)
        #expect(
            entry.author
                == Author(organisation: ministry, role: .member, device: TestDevices.deviceID("m", identity: "t")))
        // And a forged coordinator role buys nothing: the member still cannot write the company's record.
        let clock2 = HLC(milliseconds: now, counter: 1, device: "m")
        let steal = try PushRequest(
            json: JSONValue.parse(
                """
                {"changes": [{"change_id": "\(UUIDv7Generator.id(at: clock2))", "table": "organisation",
                  "record_id": "\(company)", "op": "update", "fields": {"web": "https://x.example"},
                  "base_version": 1, "hlc": "\(clock2)", "device": "m", "role": "coordinator"}]}
                """))
        #expect(try await store.pushSigned(steal.changes, by: member, now: now)[0].reason == "not_permitted")
    }

    @Test func aRemovedOrganisationsTokensStopWorking() async throws {
        let store = try SQLiteServerStore.create(in: try DatabaseQueue())
        let (organisation, token) = try await store.addOrganisation(name: "Closing", sector: "ngo", now: now)
        #expect(try await store.authenticate(token: token)?.organisation == organisation)
        let clock = HLC(milliseconds: now, counter: 0, device: "c")
        let coordinator = Principal(tokenID: "c", organisation: nil, role: .coordinator)
        let removal = Change(
            changeID: UUIDv7Generator.id(at: clock), table: "organisation", recordID: organisation, op: .delete,
            fields: [:], baseVersion: 1, hlc: clock.description, device: "c")
        #expect(try await store.pushSigned([removal], by: coordinator, now: now)[0].status == .applied)
        #expect(try await store.authenticate(token: token) == nil)
    }

}
