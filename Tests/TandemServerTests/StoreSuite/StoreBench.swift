import Foundation
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// A store of one ``StoreKind`` with what most tests start from: a coordinator and an auditor,
/// three organisations (a ministry, a company and a town) with their member tokens, each
/// principal's devices `d` and `d2` registered, and a round. Everything goes through the
/// ``ServerStore`` protocol, as the HTTP layer and the admin commands do.
final class StoreBench: @unchecked Sendable {
    static let now: Int64 = 1_790_000_000_000

    let subject: StoreUnderTest
    var store: any ServerStore { subject.store }
    var now: Int64 { Self.now }
    let coordinator: Principal
    let auditor: Principal
    let ministry: String
    let company: String
    let town: String
    /// The member tokens of the organisations, by id.
    let tokens: [String: String]
    let members: [String: Principal]
    /// A round (number 1), inserted by the coordinator.
    private(set) var round = ""

    private let lock = NSLock()
    private var counter = 0

    init(_ kind: StoreKind, schema: Schema = .partnership) async throws {
        subject = try await kind.make(schema: schema, now: Self.now)
        let store = subject.store
        coordinator = try #require(try await store.authenticate(token: subject.coordinatorToken))
        let auditorToken = try await store.issueToken(role: .auditor, organisation: nil, now: Self.now)
        auditor = try #require(try await store.authenticate(token: auditorToken))
        var tokens: [String: String] = [:]
        var members: [String: Principal] = [:]
        var ids: [String] = []
        for (name, sector) in [("Ministry", "public"), ("Kovina", "private"), ("Town", "municipality")] {
            let (id, token) = try await store.addOrganisation(name: name, sector: sector, now: Self.now)
            tokens[id] = token
            let member = try #require(try await store.authenticate(token: token))
            members[id] = member
            ids.append(id)
        }
        (ministry, company, town) = (ids[0], ids[1], ids[2])
        self.tokens = tokens
        self.members = members
        for principal in [coordinator] + members.values {
            for device in ["d", "d2"] { try await register(device, for: principal) }
        }
        round = newID()
        let results = try await push([insert("round", round, ["number": .int(1)])], by: coordinator)
        #expect(results.map(\.status) == [.applied], "\(results)")
    }

    // MARK: - Principals and devices

    func member(_ organisation: String) -> Principal {
        members[organisation] ?? Principal(tokenID: organisation, organisation: organisation, role: .member)
    }

    /// The registered device id of test device `device` used by `principal` (``TestDevices``).
    func deviceID(_ device: String, for principal: Principal) -> String {
        TestDevices.deviceID(device, identity: principal.tokenID)
    }

    @discardableResult
    func register(_ device: String, for principal: Principal) async throws -> RegisteredDevice {
        let id = deviceID(device, for: principal)
        return try await store.registerDevice(
            id, publicKey: TestDevices.shared.key(for: id).publicKey, by: principal, now: now)
    }

    // MARK: - Changes

    /// A fresh record id.
    func newID() -> String { UUIDv7Generator.id(at: HLC(milliseconds: now, counter: next(), device: "")) }

    private func next() -> Int {
        lock.withLock {
            counter += 1
            return counter % 4096
        }
    }

    /// A change at `now + offset` ms from test device `device` (moved to the pusher's registered
    /// device and signed when pushed). Changes made later have later HLCs at the same offset.
    func change(
        _ op: TandemProtocol.Operation, _ table: String, _ id: String, _ fields: [String: JSONValue] = [:],
        base: Int64, device: String = "d", offset: Int64 = 0
    ) -> Change {
        let clock = HLC(milliseconds: now + offset, counter: next(), device: device)
        return Change(
            changeID: UUIDv7Generator.id(at: clock), table: table, recordID: id, op: op, fields: fields,
            baseVersion: base, hlc: clock.description, device: device)
    }

    func insert(_ table: String, _ id: String, _ fields: [String: JSONValue], device: String = "d") -> Change {
        change(.insert, table, id, fields, base: 0, device: device)
    }

    func update(
        _ table: String, _ id: String, base: Int64, _ fields: [String: JSONValue], device: String = "d",
        offset: Int64 = 0
    ) -> Change {
        change(.update, table, id, fields, base: base, device: device, offset: offset)
    }

    func delete(_ table: String, _ id: String, base: Int64, device: String = "d") -> Change {
        change(.delete, table, id, base: base, device: device)
    }

    /// Pushes `changes` as `principal`'s replica would: from its registered devices, signed.
    func push(_ changes: [Change], by principal: Principal) async throws -> [PushResult] {
        try await store.pushSigned(changes, by: principal, now: now)
    }

    /// Pushes and expects these statuses; returns the results.
    @discardableResult
    func expect(
        _ statuses: [Outcome.Status], _ changes: [Change], by principal: Principal,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [PushResult] {
        let results = try await push(changes, by: principal)
        #expect(results.map(\.status) == statuses, "\(results)", sourceLocation: sourceLocation)
        return results
    }

    // MARK: - A small world

    func personFields(_ organisation: String, _ name: String) -> [String: JSONValue] {
        ["organisation": .string(organisation), "full_name": .string(name)]
    }

    func exchangeFields(person: String, home: String, host: String, round: String? = nil) -> [String: JSONValue] {
        [
            "round": .string(round ?? self.round), "person": .string(person), "home": .string(home),
            "host": .string(host), "starts_on": .string("2026-05-04"), "ends_on": .string("2026-05-08"),
        ]
    }

    /// A person of `organisation`, inserted by its member.
    func person(of organisation: String, _ name: String) async throws -> String {
        let id = newID()
        try await expect([.applied], [insert("person", id, personFields(organisation, name))], by: member(organisation))
        return id
    }

    /// An exchange of `person` from `home` to `host`, inserted by the home's member.
    func exchange(person: String, home: String, host: String) async throws -> String {
        let id = newID()
        try await expect(
            [.applied], [insert("exchange", id, exchangeFields(person: person, home: home, host: host))],
            by: member(home))
        return id
    }

    /// Ana, of the ministry, on an exchange hosted by the company: (person, exchange).
    func anaOnAnExchange() async throws -> (person: String, exchange: String) {
        let ana = try await person(of: ministry, "Ana")
        return (ana, try await exchange(person: ana, home: ministry, host: company))
    }

    // MARK: - Reading back

    /// Every page after `since`, as a replica pulls them; the items and the final cursor.
    func pullAll(_ principal: Principal, since: Int64 = 0, limit: Int = 1000) async throws -> (
        items: [PullItem], next: Int64
    ) {
        try await store.pullAll(principal, since: since, limit: limit)
    }

    /// The record as it now stands (nil when the store never had it), read by the coordinator's pull.
    func record(_ id: String) async throws -> PullItem? {
        try await pullAll(coordinator).items.last { $0.recordID == id }
    }

    /// What a replica of `principal` holds after pulling everything: record id → values.
    func replica(of principal: Principal) async throws -> [String: [String: JSONValue]] {
        var rows: [String: [String: JSONValue]] = [:]
        for item in try await pullAll(principal).items {
            rows[item.recordID] = item.isVisible && !item.isDeleted ? item.record : nil
        }
        return rows
    }

    /// The whole history, read back as entries.
    func entries() async throws -> [LogEntry] {
        try await store.history(since: 0, limit: 100_000).map { try LogEntry(json: JSONValue.parse($0.line)) }
    }

    /// The history entry of the change `changeID` (nil when none was logged).
    func entry(of changeID: String) async throws -> LogEntry? {
        try await entries().last { $0.change["change_id"] == .string(changeID) }
    }

    /// The entry at `seq`.
    func entry(at seq: Int64) async throws -> LogEntry {
        let lines = try await store.history(since: seq - 1, limit: 1)
        let line = try #require(lines.first)
        #expect(line.seq == seq)
        return try LogEntry(json: JSONValue.parse(line.line))
    }

    /// The conflicts the coordinator sees, open ones only unless `all`.
    /// Ana's exchange with an open conflict on `starts_on`: the ministry set the 5th, the company
    /// the 6th from the same base. Returns the exchange and the conflict.
    func openConflict() async throws -> (exchange: String, conflict: ConflictInfo) {
        let (_, exchange) = try await anaOnAnExchange()
        try await expect(
            [.applied], [update("exchange", exchange, base: 1, ["starts_on": .string("2026-05-05")])],
            by: member(ministry))
        try await expect(
            [.conflict], [update("exchange", exchange, base: 1, ["starts_on": .string("2026-05-06")], offset: 9)],
            by: member(company))
        let open = try await conflicts()
        #expect(open.count == 1)
        return (exchange, try #require(open.first))
    }

    func conflicts(all: Bool = false) async throws -> [ConflictInfo] {
        try await store.conflicts(for: coordinator, includeResolved: all)
    }
}

extension LogEntry {
    /// The outcome read back.
    var parsedOutcome: Outcome {
        get throws { try Outcome(json: outcome) }
    }
}

extension ServerStore {
    /// Every page after `since` that `principal` may read, as a replica pulls them; the items and
    /// the final cursor.
    func pullAll(_ principal: Principal, since: Int64 = 0, limit: Int = 1000) async throws -> (
        items: [PullItem], next: Int64
    ) {
        var items: [PullItem] = []
        var cursor = since
        for _ in 0..<10_000 {
            let page = try await pull(since: cursor, limit: limit, for: principal)
            #expect(page.next >= cursor)
            items += page.items
            cursor = page.next
            if !page.more { return (items, cursor) }
        }
        Issue.record("the pull never ended")
        return (items, cursor)
    }
}
