import Foundation
import GRDB
import TandemClient
import TandemProtocol
import TandemTesting
import Testing

/// Device keys (SPEC §8): made with the replica, registered with each server before a push,
/// and signing every change pushed.
@Suite struct DeviceKeyTests {
    private static let ministry = Author(organisation: "0193a1b2-0000-7000-8000-000000000001", role: .member)
    private static let company = Author(organisation: "0193a1b2-0000-7000-8000-000000000002", role: .member)

    private func registrations(_ server: FakeServer) -> Int {
        server.requests.filter { $0 == "POST /v1/devices" }.count
    }

    @Test func aReplicaMakesItsKeyAtInitAndKeepsItAcrossOpens() throws {
        let folder = try TemporaryDirectory()
        let path = folder.path("replica.sqlite")
        let created = try Replica.create(at: path)
        let key = try created.devicePublicKey()
        #expect(Signature.isPublicKey(key))
        #expect(try Replica.open(at: path).devicePublicKey() == key)
        #expect(try Replica.open(at: path).devicePublicKey() == key)
        #expect(try Replica.create(in: try DatabaseQueue()).devicePublicKey() != key, "each replica its own key")
    }

    @Test func aReplicaFromBeforeDeviceKeysGetsOneWhenOpened() throws {
        let folder = try TemporaryDirectory()
        let path = folder.path("replica.sqlite")
        // A replica as tandem made it before migration v3: no key, no audit tables, no replay columns.
        try Replica.create(at: path).withDatabase { db in
            try db.execute(
                sql: """
                    DELETE FROM tandem_meta WHERE key = 'device_key';
                    DROP TABLE tandem_audit_entry; DROP TABLE tandem_audit_checkpoint;
                    ALTER TABLE tandem_history DROP COLUMN hlc; ALTER TABLE tandem_history DROP COLUMN base_version;
                    DELETE FROM grdb_migrations WHERE identifier = 'v3';
                    """)
        }
        let opened = try Replica.open(at: path)
        let key = try opened.devicePublicKey()
        #expect(Signature.isPublicKey(key))
        #expect(try opened.audit.entryCount() == 0)
        #expect(try Replica.open(at: path).devicePublicKey() == key)
    }

    @Test func everyPushedChangeIsSignedByTheDeviceKey() throws {
        let world = SyncWorld()
        let (replica, engine) = try world.replica()
        let round = try replica.editor.insert(into: "round", [.init("number", "5")])
        _ = try engine.sync()
        try replica.editor.update("round", id: round.id, [.init("title", "Spring")])
        try replica.editor.delete(from: "round", id: round.id)
        let summary = try engine.sync()
        #expect(summary.rejected.isEmpty)
        let key = try replica.devicePublicKey()
        #expect(world.server.log.count == 2)
        for entry in world.server.log {
            #expect(entry.change.device == replica.device)
            #expect(entry.change.isSigned(by: key), "\(entry.change.op) is signed by the replica's key")
            #expect(!entry.change.isSigned(by: SigningKey().publicKey))
        }
    }

    @Test func aLargePushIsSignedChangeByChange() throws {
        // More changes than the engine signs on one core.
        let world = SyncWorld()
        let (replica, engine) = try world.replica()
        for number in 1...300 { try replica.editor.insert(into: "round", [.init("number", String(number))]) }
        let summary = try engine.sync()
        #expect(summary.pushed == 300 && summary.rejected.isEmpty)
        let key = try replica.devicePublicKey()
        #expect(world.server.log.allSatisfy { $0.change.isSigned(by: key) })
        #expect(Set(world.server.log.map { $0.change.signature ?? "" }).count == 300)
    }

    @Test func theFakeServerRejectsWhatTheRealOneWould() throws {
        // The fake is honest: an unregistered device, a forged signature, and a device of another
        // organisation are each rejected with reason `signature`.
        let world = SyncWorld()
        let (replica, engine) = try world.replica(as: Self.ministry)
        _ = try engine.registerDevice()
        let api = SyncAPI(transport: world.server.transport(as: Self.ministry))
        func change(device: String) -> Change {
            Change(
                changeID: UUID().uuidString.lowercased(), table: "organisation",
                recordID: Self.ministry.organisation!, op: .insert,
                fields: ["name": .string("Ministry"), "sector": .string("public")], baseVersion: 0,
                hlc: HLC(milliseconds: 1, counter: 0, device: device).description, device: device)
        }
        let stranger = SigningKey()
        let forged = change(device: replica.device).signed(with: stranger)
        let unregistered = change(device: "laptop-2").signed(with: stranger)
        let results = try api.push([forged, unregistered])
        #expect(results.map(\.status) == [.rejected, .rejected])
        #expect(results.map(\.reason) == ["signature", "signature"])
        let genuine = try api.push([change(device: replica.device).signed(with: try Self.key(of: replica))])
        #expect(genuine.map(\.status) == [.applied])
        let otherOrganisation = SyncAPI(transport: world.server.transport(as: Self.company))
        let borrowed = try otherOrganisation.push([
            change(device: replica.device).signed(with: try Self.key(of: replica))
        ])
        #expect(borrowed.map(\.reason) == [.signature])
    }

    @Test func theDeviceIsRegisteredOncePerServer() throws {
        let world = SyncWorld()
        let (replica, engine) = try world.replica()
        #expect(registrations(world.server) == 0, "nothing to push yet")
        _ = try engine.sync()
        #expect(registrations(world.server) == 0, "a sync with nothing to push registers nothing")
        try replica.editor.insert(into: "round", [.init("number", "1")])
        _ = try engine.sync()
        try replica.editor.insert(into: "round", [.init("number", "2")])
        _ = try engine.sync()
        #expect(registrations(world.server) == 1)
        #expect(try replica.remote.deviceRegisteredServer() == "http://fake")
        #expect(world.server.devices[replica.device]?.publicKey == (try replica.devicePublicKey()))

        // `remote` to another server registers there at once, and only once.
        let other = FakeServer()
        let transport = other.transport(as: SyncWorld.coordinator)
        _ = try SyncEngine.connect(replica, to: Remote(server: "http://other", token: "t"), transport: transport)
        #expect(registrations(other) == 1)
        #expect(try replica.remote.deviceRegisteredServer() == "http://other")
        try replica.editor.insert(into: "round", [.init("number", "3")])
        _ = try SyncEngine(replica: replica, transport: transport).sync()
        #expect(registrations(other) == 1, "a push after `remote` does not register again")
        #expect(other.log.count == 1 && other.log.allSatisfy { $0.outcome.status == .applied })
    }

    @Test func aServerThatLostTheRegistrationGetsItBack() throws {
        // A server whose store was replaced: the first push is rejected (`signature`), and the
        // next one registers the key again before sending.
        let world = SyncWorld()
        let (replica, engine) = try world.replica()
        try replica.editor.insert(into: "round", [.init("number", "1")])
        _ = try engine.sync()
        world.server.forgetDevices()
        try replica.editor.insert(into: "round", [.init("number", "2")])
        #expect(try engine.sync().rejected.map(\.reason) == [.signature])
        try replica.editor.insert(into: "round", [.init("number", "3")])
        #expect(try engine.sync().rejected.isEmpty)
        #expect(registrations(world.server) == 2)
        // `remote` registers again too, whatever the replica remembers (it is harmless).
        _ = try SyncEngine.connect(
            replica, to: Remote(server: "http://fake", token: "t2"),
            transport: world.server.transport(as: SyncWorld.coordinator))
        #expect(registrations(world.server) == 3 && world.server.devices.count == 1)
    }

    @Test func initFromAServerRegistersTheDevice() throws {
        let server = FakeServer()
        let folder = try TemporaryDirectory()
        let (replica, _) = try SyncEngine.createReplica(
            at: folder.path("replica.sqlite"), remote: Remote(server: "http://fake", token: "t"),
            transport: server.transport(as: Self.ministry))
        #expect(registrations(server) == 1)
        #expect(server.devices[replica.device]?.organisation == Self.ministry.organisation)
        #expect(try replica.remote.deviceRegisteredServer() == "http://fake")
    }

    @Test func anAuditorNeverRegisters() throws {
        let server = FakeServer()
        let auditor = Author(organisation: nil, role: .auditor)
        let replica = try Replica.create(in: try DatabaseQueue())
        _ = try SyncEngine.connect(
            replica, to: Remote(server: "http://fake", token: "t"), transport: server.transport(as: auditor))
        let folder = try TemporaryDirectory()
        _ = try SyncEngine.createReplica(
            at: folder.path("auditor.sqlite"), remote: Remote(server: "http://fake", token: "t"),
            transport: server.transport(as: auditor))
        #expect(registrations(server) == 0)
        #expect(try replica.remote.deviceRegisteredServer() == nil)
    }

    @Test func aDeviceHeldForAnotherOrganisationIsAClearErrorAndChangesNothing() throws {
        let server = FakeServer()
        let replica = try Replica.create(in: try DatabaseQueue())
        _ = try SyncEngine.connect(
            replica, to: Remote(server: "http://fake", token: "a"), transport: server.transport(as: Self.ministry))
        let error = #expect(throws: ReplicaError.self) {
            try SyncEngine.connect(
                replica, to: Remote(server: "http://fake", token: "b"), transport: server.transport(as: Self.company))
        }
        #expect(error?.code == .invalidData)
        #expect(error?.message.hasPrefix("the server already has device \(replica.device) registered") == true)
        let status = try replica.status()
        #expect(status.organisation == Self.ministry.organisation, "the old remote is kept")
        #expect(try replica.remote.current()?.token == "a")
    }

    /// The replica's private key, read from its settings as a test may.
    static func key(of replica: Replica) throws -> SigningKey {
        let text = try replica.withDatabase { db in
            try String.fetchOne(db, sql: "SELECT value FROM tandem_meta WHERE key = 'device_key'") ?? ""
        }
        return try SigningKey(privateKeyBase64: text)
    }
}
