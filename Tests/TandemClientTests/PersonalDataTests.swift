import Foundation
import GRDB
import TandemClient
import TandemProtocol
import Testing

/// Personal data on the client (SPEC §8, issue 14): what a replica signs and pushes commits to
/// each personal value; the openings travel beside and are kept apart; an erasure pulled leaves
/// no byte of the values in the replica's files; an erased record takes no edit.
@Suite struct PersonalDataTests {
    static let name = "Zyxwvut Quokkaname"
    static let email = "zyxwvut@quokka.example"

    /// A coordinator's replica with an organisation and a person (name and e-mail), synced.
    private static func seeded(_ world: SyncWorld, at path: String? = nil) throws -> (
        replica: Replica, engine: SyncEngine, person: String
    ) {
        let replica: Replica
        if let path {
            replica = try Replica.create(at: path, schema: world.server.schema)
            try replica.remote.set(
                Remote(server: "http://fake", token: "t"),
                identity: WhoAmI(organisation: nil, role: .coordinator))
        } else {
            replica = try world.replica().replica
        }
        let engine = SyncEngine(replica: replica, transport: world.server.transport(as: SyncWorld.coordinator))
        let ministry = try replica.editor.insert(
            into: "organisation", [.init("name", "Ministry"), .init("sector", "public")])
        let person = try replica.editor.insert(
            into: "person",
            [.init("organisation", ministry.id), .init("full_name", name), .init("email", email)])
        _ = try engine.sync()
        return (replica, engine, person.id)
    }

    static func contains(_ text: String, in bytes: [UInt8]) -> Bool {
        let needle = Array(text.utf8)
        guard bytes.count >= needle.count else { return false }
        return (0...(bytes.count - needle.count)).contains { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    @Test func aPushCommitsToPersonalValuesAndSendsTheirOpeningsBeside() throws {
        let world = SyncWorld()
        let (replica, _, person) = try Self.seeded(world)
        let bodies = world.server.pushBodies
        #expect(!bodies.isEmpty)
        for body in bodies {
            let push = try PushRequest(json: JSONValue.parse(bytes: body))
            let changes = JSONValue.array(push.changes.map(\.json)).serialized()
            #expect(!changes.contains(Self.name) && !changes.contains(Self.email), "a plain personal value was signed")
            #expect(Self.contains(Self.name, in: body), "the value travels beside, in the openings")
            #expect(push.values.mismatched.isEmpty)
            for change in push.changes where change.table == "person" {
                let held = Sealing.commitments(in: .object(change.fields.map { JSONMember($0, $1) }))
                #expect(held.count == 2, "full_name and email committed to")
                #expect(held.allSatisfy { push.values.value(of: $0) != nil })
                #expect(change.fields["organisation"].flatMap(Commitment.hex(in:)) == nil, "a ref stays plain")
            }
        }
        // The server merged the values; the replica keeps the openings of its own change.
        #expect(world.server.live("person")[person]?["full_name"] == .string(Self.name))
        #expect(try replica.count("SELECT count(*) FROM tandem_personal_value WHERE record_id = ?", [person]) == 2)
    }

    @Test func historyReadsCommitmentsThroughTheOpeningsKeptAndNullWithout() throws {
        let world = SyncWorld()
        let (_, _, person) = try Self.seeded(world)
        let (other, otherEngine) = try world.replica()
        _ = try otherEngine.sync()
        #expect(try other.count("SELECT count(*) FROM tandem_personal_value WHERE record_id = ?", [person]) == 2)
        let opened = try #require(try other.history(of: "person", id: person).first)
        #expect(opened.fields["full_name"] == .string(Self.name))
        #expect(try other.record(in: "person", id: person, asOf: .seq(100))["email"] == .text(Self.email))

        // Without its openings (never shown, or erased) a commitment reads as null.
        try other.withDatabase { db in try db.execute(sql: "DELETE FROM tandem_personal_value") }
        let closed = try #require(try other.history(of: "person", id: person).first)
        #expect(closed.fields["full_name"] == .null)
        let then = try other.record(in: "person", id: person, asOf: .seq(100))
        #expect(then["full_name"] == .null && then["email"] == .null)
        #expect(then["organisation"] != .null, "what is not personal is replayed as before")
    }

    @Test func anErasureLeavesNoByteOfTheValuesInTheReplicasFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-erase-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let world = SyncWorld()
        let (replica, engine, person) = try Self.seeded(world, at: folder + "/member.sqlite")
        try replica.editor.update("person", id: person, [.init("title", "Zyxwvut Title")])
        _ = try engine.sync()
        // Entries from a server from before commitments: plain values in the pulled history (a
        // conflict's too) and in the changes kept as signed.
        try replica.withDatabase { db in
            try db.execute(
                sql: """
                    UPDATE tandem_history SET fields = json_set(fields, '$.full_name', 'Zyxwvut Old'),
                        outcome = json_set(outcome, '$.conflicts',
                            json('[{"field":"title","rule":"lww","kept":"Zyxwvut Kept","lost":"Zyxwvut Lost"}]'))
                    WHERE record_id = ?
                    """, arguments: [person])
            try db.execute(
                sql: """
                    UPDATE tandem_acknowledged SET change = json_set(change, '$.fields.email', 'Zyxwvut Sent')
                    WHERE record_id = ?
                    """, arguments: [person])
        }
        #expect(try replica.count("SELECT count(*) FROM tandem_history WHERE fields LIKE '%Zyxwvut Old%'") == 2)
        // An edit made before the erasure is known here: pushed, refused `erased`, kept refused.
        try replica.editor.update("person", id: person, [.init("phone", "Zyxwvut 555")])

        let (coordinator, coordinatorEngine) = try world.replica()
        _ = try coordinatorEngine.sync()
        let erasure = try coordinatorEngine.erase("person", id: String(person.prefix(8)))
        #expect(erasure.recordID == person)
        #expect(erasure.response?.erased == ["email", "full_name", "title"])
        #expect(try coordinator.record(in: "person", id: person)["full_name"] == .null)

        let summary = try engine.sync()
        #expect(summary.rejected.map(\.reason) == [.erased])
        let record = try replica.record(in: "person", id: person)
        #expect(record["full_name"] == .null && record["email"] == .null && record["organisation"] != .null)
        #expect(try replica.count("SELECT erased FROM tandem_record WHERE id = ?", [person]) == 1)
        #expect(try replica.count("SELECT count(*) FROM tandem_personal_value") == 0)
        #expect(try replica.history(of: "person", id: person).contains { $0.op == .erase })

        for file in ["member.sqlite", "member.sqlite-wal", "member.sqlite-shm"] {
            let bytes = Array(FileManager.default.contents(atPath: folder + "/" + file) ?? Data())
            for value in [Self.name, Self.email, "Zyxwvut Title", "Zyxwvut 555", "Zyxwvut"] {
                #expect(!Self.contains(value, in: bytes), "\(value) is still in \(file)")
            }
        }
    }

    @Test func anErasedRecordTakesNoLocalEdit() throws {
        let world = SyncWorld()
        let (replica, engine, person) = try Self.seeded(world)
        try replica.editor.update("person", id: person, [.init("title", "Director")])
        let (_, coordinatorEngine) = try world.replica()
        _ = try coordinatorEngine.sync()
        _ = try coordinatorEngine.erase("person", id: person)
        _ = try engine.sync()
        let refused = try #require(try replica.status().rejected.first)
        #expect(refused.reason == .erased && refused.fields["title"] == nil, "kept without its personal values")

        let outbox = try replica.count("SELECT count(*) FROM tandem_outbox")
        func expectRefused(_ edit: () throws -> Void) {
            do {
                try edit()
                Issue.record("an edit of an erased record was taken")
            } catch let error as ReplicaError {
                #expect(error.code == .invalidData && error.message.contains("erased"), "\(error.message)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        expectRefused { _ = try replica.editor.update("person", id: person, [.init("full_name", "Back")]) }
        expectRefused { try replica.editor.delete(from: "person", id: person) }
        expectRefused { _ = try replica.editor.retryRejected(refused.changeID) }
        #expect(try replica.count("SELECT count(*) FROM tandem_outbox") == outbox)
        #expect(try replica.record(in: "person", id: person)["full_name"] == .null)
    }

    @Test func eraseRefusesATableWithoutPersonalDataBeforeAskingAndSaysSoWhenErasedAlready() throws {
        let world = SyncWorld()
        let (replica, engine, person) = try Self.seeded(world)
        let organisation = try #require(try replica.records(in: "organisation").first)
        for (table, id, code) in [
            ("organisation", organisation.id, ReplicaError.Code.invalidData),
            ("person", "0196ffff-0000-7000-8000-000000000000", .notFound),
        ] {
            do {
                _ = try engine.erase(table, id: id)
                Issue.record("erased \(table) \(id)")
            } catch {
                #expect(error.code == code, "\(error.message)")
            }
        }
        #expect(!world.server.requests.contains("POST /v1/erase"), "nothing asked of the server")

        let member = Author(organisation: "0193a1b2-0000-7000-8000-000000000001", role: .member)
        let memberEngine = SyncEngine(replica: replica, transport: world.server.transport(as: member))
        do {
            _ = try memberEngine.erase("person", id: person)
            Issue.record("a member erased")
        } catch {
            #expect(error.code == .notPermitted)
        }
        #expect(try engine.erase("person", id: person).response != nil)
        #expect(try engine.erase("person", id: person).response == nil, "erased already: said, not an error")
    }

    @Test func aBundleCarriesTheOpeningsOfItsChanges() throws {
        let world = SyncWorld()
        let (carrier, carrierEngine, _) = try Self.seeded(world)
        let organisation = try #require(try carrier.records(in: "organisation").first)
        // A member's replica that has pulled once and has never pushed: its bundle goes through
        // the coordinator's replica.
        let (offline, offlineEngine) = try world.replica(as: Author(organisation: organisation.id, role: .member))
        _ = try offlineEngine.pull()
        let person = try offline.editor.insert(
            into: "person", [.init("organisation", organisation.id), .init("full_name", "Zyxwvut Carried")])
        let file = try offline.bundles.outgoing().file(signedWith: try offline.deviceKey())
        let bundle = try ChangeBundle(file: file)
        #expect(bundle.changes.allSatisfy { !$0.json.serialized().contains("Zyxwvut") }, "only in the openings")
        #expect(bundle.values.count == 1 && bundle.values.mismatched.isEmpty)
        #expect(bundle.changes.allSatisfy { $0.fields["full_name"].flatMap(Commitment.hex(in:)) != nil })

        _ = try carrier.bundles.queue(bundle)
        // The server registers the carried device only for a coordinator: it is one.
        let summary = try carrierEngine.sync()
        #expect(summary.carried == 1 && summary.carriedRejected == 0)
        #expect(world.server.live("person")[person.id]?["full_name"] == .string("Zyxwvut Carried"))
    }
}

extension PersonalDataTests {
    /// A bundle made before personal data was committed to holds plain values, signed: the
    /// carrier does not send it (the server would refuse the whole push) and syncs on.
    @Test func aCarriedChangeHoldingAPlainPersonalValueIsNotSent() throws {
        let world = SyncWorld()
        let (carrier, carrierEngine, _) = try Self.seeded(world)
        let organisation = try #require(try carrier.records(in: "organisation").first)
        let key = SigningKey()
        let device = "0196a000-0000-7000-8000-00000000beef"
        let change = Change(
            changeID: "0196a000-0000-7000-8000-00000000c0de", table: "person",
            recordID: "0196a000-0000-7000-8000-00000000face", op: .insert,
            fields: ["organisation": .string(organisation.id), "full_name": .string("Zyxwvut Plain")], baseVersion: 0,
            hlc: HLC(milliseconds: 1_777_884_000_000, counter: 0, device: device).description, device: device
        ).signed(with: key)
        let bundle = ChangeBundle(
            device: device, publicKey: key.publicKey, organisation: organisation.id, created: "2026-05-04T08:40:00Z",
            changes: [change])
        #expect(try carrier.bundles.queue(bundle).queued == 1)
        let summary = try carrierEngine.sync()
        #expect(summary.carried == 1 && summary.carriedRejected == 1)
        #expect(try carrier.bundles.carriedCount() == 0)
        #expect(world.server.pushBodies.allSatisfy { !Self.contains("Zyxwvut Plain", in: $0) })
    }
}

/// The audit store's side: openings beside history lines kept apart from the lines, checked by
/// `audit verify`, and deleted by an erasure entry.
@Suite struct AuditPersonalDataTests {
    static let person = "0196b000-0000-7000-8000-000000000002"
    static let organisation = "0193a1b2-0000-7000-8000-000000000001"

    /// Entry 1, the laptop's registration, and a person inserted by the laptop with a name and
    /// an e-mail committed to: its line served with the openings beside.
    static func history() -> (history: SignedHistory, lines: [String], openings: Openings, insert: Int64) {
        var history = SignedHistory()
        let laptop = SigningKey()
        history.registerDevice("laptop", key: laptop, for: AuditTests.ministry)
        let salts = SaltKey(laptop)
        let personal = Schema.partnership.personalFields(of: "person")
        let (fields, made) = Sealing.seal(
            [
                "organisation": .string(organisation), "full_name": .string("Ana Zyxwvut"),
                "email": .string("ana@zyxwvut.example"),
            ], personal: personal
        ) { salts.salt(changeID: person, field: $0) }
        let entry = history.log(
            .insert, "person", person, fields, by: AuditTests.ministry, key: laptop,
            outcome: Outcome(status: .applied, version: 1, applied: ["email", "full_name", "organisation"]))
        let openings = Openings(made)
        var lines = history.lines
        lines[Int(entry.seq) - 1] = LogEntry.line(lines[Int(entry.seq) - 1], with: openings)
        return (history, lines, openings, entry.seq)
    }

    @Test func openingsAreKeptApartFromTheLinesAndTamperingWithThemIsCaught() throws {
        let (history, lines, openings, insert) = Self.history()
        let server = HistoryServer(history)
        server.serve(lines, checkpoint: history.checkpoint())
        let replica = try Replica.create(in: try DatabaseQueue())
        _ = try AuditEngine(replica: replica, transport: server).pull()
        let stored = try replica.withDatabase { db in
            try String.fetchAll(db, sql: "SELECT line FROM tandem_audit_entry ORDER BY seq")
        }
        #expect(stored == history.lines, "each line stored as the hashed entry, without its values")
        #expect(try replica.count("SELECT count(*) FROM tandem_audit_value WHERE seq = ?", [insert]) == 2)
        #expect(try replica.audit.verify().failure == nil)
        #expect(try replica.history(of: "person", id: Self.person).first?.fields["full_name"] == .string("Ana Zyxwvut"))
        var exported: [String] = []
        try replica.audit.export(as: .ndjson) { exported.append($0) }
        #expect(exported.joined() == lines.map { $0 + "\n" }.joined(), "exported as served, values beside")

        let (name, email) = try #require(
            { () -> (String, String)? in
                let byField = openings.byCommitment.map { ($0.key, $0.value.value) }
                guard let name = byField.first(where: { $0.1 == .string("Ana Zyxwvut") })?.0,
                    let email = byField.first(where: { $0.1 != .string("Ana Zyxwvut") })?.0
                else { return nil }
                return (name, email)
            }())
        // A value altered, its salt kept.
        try replica.withDatabase { db in
            try db.execute(
                sql: "UPDATE tandem_audit_value SET value = ? WHERE commitment = ?",
                arguments: [#""Ana Zyxwvux""#, name])
        }
        let altered = try replica.audit.verify().failure
        #expect(altered?.seq == insert, "\(String(describing: altered))")
        #expect(altered?.description.contains("does not match") == true, "\(String(describing: altered))")
        try replica.withDatabase { db in
            try db.execute(
                sql: "UPDATE tandem_audit_value SET value = ? WHERE commitment = ?",
                arguments: [#""Ana Zyxwvut""#, name])
        }
        #expect(try replica.audit.verify().failure == nil)
        // Two salts swapped.
        try replica.withDatabase { db in
            try db.execute(
                sql: """
                    UPDATE tandem_audit_value SET salt = CASE commitment
                        WHEN ?1 THEN (SELECT salt FROM tandem_audit_value WHERE commitment = ?2)
                        ELSE (SELECT salt FROM tandem_audit_value WHERE commitment = ?1) END
                    WHERE commitment IN (?1, ?2)
                    """, arguments: [name, email])
        }
        #expect(try replica.audit.verify().failure?.seq == insert)
    }

    @Test func anErasureEntryPulledLeavesNoByteOfTheValuesInTheAuditStore() throws {
        var (history, lines, _, _) = Self.history()
        let server = HistoryServer(history)
        server.serve(lines, checkpoint: history.checkpoint())
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-audit-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let replica = try Replica.create(at: folder + "/auditor.sqlite")
        _ = try AuditEngine(replica: replica, transport: server).pull()
        #expect(try replica.count("SELECT count(*) FROM tandem_audit_value") == 2)

        history.log(
            .erase, "person", Self.person, base: 1, by: SignedHistory.server, key: history.serverKey,
            outcome: Outcome(status: .applied, version: 2, applied: ["email", "full_name"]))
        lines.append(history.lines[history.lines.count - 1])
        server.serve(lines, checkpoint: history.checkpoint())
        _ = try AuditEngine(replica: replica, transport: server).pull()
        #expect(try replica.count("SELECT count(*) FROM tandem_audit_value") == 0)
        #expect(try replica.audit.verify().failure == nil, "the chain still verifies")
        let then = try replica.record(in: "person", id: Self.person, asOf: .seq(100))
        #expect(then["full_name"] == .null && then["organisation"] == .text(Self.organisation))
        for file in ["auditor.sqlite", "auditor.sqlite-wal", "auditor.sqlite-shm"] {
            let bytes = Array(FileManager.default.contents(atPath: folder + "/" + file) ?? Data())
            #expect(!PersonalDataTests.contains("Zyxwvut", in: bytes), "a value is still in \(file)")
        }
    }
}

/// Bundle files carry openings in their header (`values`) as version 2; without any they stay
/// version 1, which a tandem from before reads.
@Suite struct BundleVersionTests {
    @Test func aFileWithOpeningsIsVersionTwoAndOneWithoutStaysVersionOne() throws {
        let key = SigningKey()
        let opening = Opening(salt: String(repeating: "ab", count: 16), value: .string("Ana"))
        let plain = BundleFrame.seal(kind: .changes, header: [], body: [Array("{}".utf8)], key: key)
        let personal = BundleFrame.seal(
            kind: .changes, header: [JSONMember(BundleFrame.valuesMember, Openings([opening]).json)],
            body: [Array("{}".utf8)], key: key)
        #expect(try BundleFrame.open(plain).header["version"] == .int(1))
        let opened = try BundleFrame.open(personal)
        #expect(opened.header["version"] == .int(2))
        #expect(
            try Openings(json: #require(opened.header[BundleFrame.valuesMember])).value(
                of: #require(opening.commitment)) == .string("Ana"))
        // A version this tandem does not know is refused.
        let text = String(decoding: personal, as: UTF8.self).replacingOccurrences(
            of: #""version":2"#, with: #""version":3"#)
        #expect(throws: ProtocolError.self) { try BundleFrame.open(Array(text.utf8)) }
    }
}
