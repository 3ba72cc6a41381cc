import Foundation
import GRDB
import TandemProtocol
import TandemTesting
import Testing

@testable import TandemServer

/// `store.verify()` against someone with write access to the store's file (SPEC §8): each kind
/// of tampering is found, and the first bad seq is named.
@Suite struct TamperDetectionTests {
    static let now: Int64 = 1_790_000_000_000

    /// A store on disk with two organisations, a member's device and a coordinator's, and a few
    /// signed changes; its file opened beside it for tampering.
    struct Bench {
        let folder: TemporaryDirectory
        let directory: String
        let store: SQLiteServerStore
        let ministry: String
        let coordinator = Principal(tokenID: "tamper-c", organisation: nil, role: .coordinator)
        /// The seq of each round's insert, by number.
        var rounds: [Int64: Int64] = [:]

        init() async throws {
            folder = try TemporaryDirectory(prefix: "tandem-tamper")
            directory = folder.path("data")
            store = try SQLiteServerStore.create(directory: directory, now: now).store
            ministry = try await store.addOrganisation(name: "Ministry", sector: "public", now: now).id
            _ = try await store.addOrganisation(name: "Kovina", sector: "private", now: now)
            var changes: [Change] = []
            for number in 1...5 {
                let clock = HLC(milliseconds: now, counter: number, device: "desk")
                changes.append(
                    Change(
                        changeID: UUIDv7Generator.id(at: clock), table: "round",
                        recordID: UUIDv7Generator.id(at: clock),
                        op: .insert, fields: ["number": .int(Int64(number))], baseVersion: 0, hlc: clock.description,
                        device: "desk"))
            }
            let results = try await store.pushSigned(changes, by: coordinator, now: now)
            for (number, result) in zip(1..., results) { rounds[Int64(number)] = result.seq }
            let member = Principal(tokenID: "tamper-m", organisation: ministry, role: .member)
            let clock = HLC(milliseconds: now, counter: 9, device: "laptop")
            let edit = Change(
                changeID: UUIDv7Generator.id(at: clock), table: "organisation", recordID: ministry, op: .update,
                fields: ["web": .string("https://gov.example")], baseVersion: 1, hlc: clock.description,
                device: "laptop")
            #expect(try await store.pushSigned([edit], by: member, now: now).map(\.status) == [.applied])
        }

        /// The store's file, for writing behind the store's back.
        func file() throws -> DatabaseQueue {
            try DatabaseQueue(path: (directory as NSString).appendingPathComponent("store.sqlite"))
        }

        func head() async throws -> Int64 { try await store.headSeq() }

        /// The entry at `seq` as stored.
        func entry(_ seq: Int64) throws -> LogEntry {
            let line = try file().read { db in
                try String.fetchOne(db, sql: "SELECT entry FROM log WHERE seq = ?", arguments: [seq])
            }
            return try LogEntry(json: JSONValue.parse(try #require(line)))
        }

        /// The hash of every entry by seq, as a history read from `store` holds them.
        static func hashes(of store: SQLiteServerStore) async throws -> (ChainVerifier, [Int64: String]) {
            var verifier = ChainVerifier()
            var hashes: [Int64: String] = [:]
            for line in try await store.history(since: 0, limit: 100_000) {
                _ = try verifier.append(line: Array(line.line.utf8))
                hashes[line.seq] = verifier.hash
            }
            return (verifier, hashes)
        }

        /// Replaces the stored entry at `seq` with `entry`, keeping the row's other columns (its pull
        /// item too) true to it.
        func replace(_ seq: Int64, with entry: LogEntry) throws {
            let change = try Change(json: entry.change)
            try file().write { db in
                try db.execute(sql: "DELETE FROM log WHERE seq = ?", arguments: [seq])
                try db.execute(
                    sql: """
                        INSERT INTO log(seq, change_id, time, tbl, record_id, entry, prev_hash, hash, item)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        entry.seq, change.changeID, entry.time, change.table, change.recordID, entry.line,
                        entry.prevHash, entry.hash, DerivedForms.item(of: entry)?.serialized(),
                    ])
            }
        }
    }

    @Test func anUntouchedStoreVerifies() async throws {
        let bench = try await Bench()
        let report = try await bench.store.verify()
        #expect(report.failure == nil)
        #expect(report.entries == (try await bench.head()) && report.headSeq == report.entries)
        #expect(report.headHash == (try bench.entry(report.headSeq)).hash)
    }

    /// The columns the store finds entries by (pull joins on `tbl` and `record_id`) must agree
    /// with the entry they index, or pull could serve one record's history as another's.
    @Test(arguments: ["record_id", "tbl", "change_id", "hash", "prev_hash"])
    func aColumnThatDisagreesWithItsEntryIsNamed(column: String) async throws {
        let bench = try await Bench()
        let seq = try #require(bench.rounds[2])
        try await bench.file().write { db in
            try db.execute(sql: "UPDATE log SET \(column) = 'x' || \(column) WHERE seq = ?", arguments: [seq])
            #expect(db.changesCount == 1)
        }
        let failure = try #require(try await bench.store.verify().failure)
        #expect(failure.seq == seq, "\(failure)")
        #expect(failure.problem.contains("columns"), "\(failure)")
    }

    @Test func aFieldChangedInOneEntryIsNamed() async throws {
        let bench = try await Bench()
        let seq = try #require(bench.rounds[3])
        try await bench.file().write { db in
            try db.execute(
                sql: #"UPDATE log SET entry = replace(entry, '"number":3', '"number":30') WHERE seq = ?"#,
                arguments: [seq])
            #expect(db.changesCount == 1)
        }
        #expect(try bench.entry(seq).change["fields"]?["number"] == .int(30))
        let failure = try #require(try await bench.store.verify().failure)
        #expect(failure.seq == seq, "\(failure)")
    }

    @Test func twoSwappedEntriesAreNamedAtTheFirst() async throws {
        let bench = try await Bench()
        let first = try #require(bench.rounds[2])
        let second = try #require(bench.rounds[4])
        try await bench.file().write { db in
            let texts = try String.fetchAll(
                db, sql: "SELECT entry FROM log WHERE seq IN (?, ?) ORDER BY seq", arguments: [first, second])
            try db.execute(sql: "UPDATE log SET entry = ? WHERE seq = ?", arguments: [texts[1], first])
            try db.execute(sql: "UPDATE log SET entry = ? WHERE seq = ?", arguments: [texts[0], second])
        }
        #expect(try bench.entry(first).seq == second)
        let failure = try #require(try await bench.store.verify().failure)
        #expect(failure.seq == first, "\(failure)")
    }

    @Test func aTruncatedLogIsNamedAtTheFirstMissingSeq() async throws {
        let bench = try await Bench()
        let checkpoint = try await bench.store.checkpoint(now: Self.now)
        let head = try await bench.head()
        #expect(checkpoint.seq == head)
        try await bench.file().write { db in
            try db.execute(sql: "DELETE FROM log WHERE seq > ?", arguments: [head - 2])
        }
        #expect(try await bench.head() == head - 2)
        let failure = try #require(try await bench.store.verify().failure)
        #expect(failure.seq == head - 1, "\(failure)")
    }

    @Test func anEntryTheServerWroteWithoutADeviceSignatureIsNamed() async throws {
        let bench = try await Bench()
        let head = try await bench.head()
        let last = try bench.entry(head)
        let previous = try bench.entry(head - 1)
        #expect(last.author.organisation == bench.ministry)
        // The member's edit rewritten as the server pleases, the chain recomputed: only the
        // signature can tell.
        var forged = try Change(json: last.change)
        forged.fields = ["web": .string("https://forged.example")]
        forged.signature = nil
        let unsigned = LogEntry(
            seq: head, time: last.time, author: last.author, change: forged.json, outcome: last.outcome,
            prevHash: previous.hash)
        try bench.replace(head, with: unsigned)
        let failure = try #require(try await bench.store.verify().failure)
        #expect(failure.seq == head, "\(failure)")
        #expect(failure.problem.contains("signature"), "\(failure)")

        // Signed by a key the forger holds instead: still not the device's.
        let signed = LogEntry(
            seq: head, time: last.time, author: last.author, change: forged.signed(with: SigningKey()).json,
            outcome: last.outcome, prevHash: previous.hash)
        try bench.replace(head, with: signed)
        #expect(try await bench.store.verify().failure?.seq == head)

        // Nor may the forger pass it off as the server's own change.
        var asServer = forged
        asServer.device = DeviceRegistry.serverDevice
        let author = Author(organisation: nil, role: .server, device: DeviceRegistry.serverDevice)
        let claimed = LogEntry(
            seq: head, time: last.time, author: author, change: asServer.signed(with: SigningKey()).json,
            outcome: last.outcome, prevHash: previous.hash)
        try bench.replace(head, with: claimed)
        #expect(try await bench.store.verify().failure?.seq == head)

        // The untouched entry put back: sound again (the check is not merely "something changed").
        try bench.replace(head, with: last)
        #expect(try await bench.store.verify().failure == nil)
    }

    @Test func aReplacedServerKeyIsNamedAtSeqOne() async throws {
        let bench = try await Bench()
        let usurper = SigningKey()
        try await bench.file().write { db in
            try db.execute(
                sql: "UPDATE server_meta SET value = ? WHERE key = 'signing_key'", arguments: [usurper.privateKeyBase64]
            )
            #expect(db.changesCount == 1)
        }
        let reopened = try SQLiteServerStore.open(directory: bench.directory)
        let failure = try #require(try await reopened.verify().failure)
        #expect(failure.seq == 1, "\(failure)")

        // What it now signs does not pass for the server's checkpoint.
        let checkpoint = try await reopened.checkpoint(now: Self.now)
        #expect(checkpoint.publicKey == usurper.publicKey && checkpoint.isSignatureValid)
        let (verifier, hashes) = try await Bench.hashes(of: reopened)
        let refused = try #require(verifier.check(checkpoint) { hashes[$0] })
        #expect(refused.seq == checkpoint.seq, "\(refused)")
        // Kept in the store, that checkpoint does not hide where the history went wrong.
        #expect(try await reopened.verify().failure?.seq == 1)
    }

    @Test func anotherStoresCheckpointIsNamedAtItsSeq() async throws {
        let bench = try await Bench()
        let other = try await Bench()
        let checkpoint = try await other.store.checkpoint(now: Self.now)
        #expect(checkpoint.seq == (try await bench.head()))
        let (verifier, hashes) = try await Bench.hashes(of: bench.store)
        #expect(verifier.check(try await bench.store.checkpoint(now: Self.now)) { hashes[$0] } == nil)
        let failure = try #require(verifier.check(checkpoint) { hashes[$0] })
        #expect(failure.seq == checkpoint.seq, "\(failure)")
    }

    @Test func aCheckpointOfAForkedHistoryIsNamedAtItsSeq() async throws {
        let bench = try await Bench()
        // A copy of the store, same key and history, then each goes its own way.
        let fork = try TemporaryDirectory(prefix: "tandem-fork")
        let forkDirectory = fork.path("data")
        try FileManager.default.createDirectory(atPath: forkDirectory, withIntermediateDirectories: true)
        let copy = try DatabaseQueue(path: (forkDirectory as NSString).appendingPathComponent("store.sqlite"))
        try bench.store.writer.backup(to: copy)
        let forked = try SQLiteServerStore.open(directory: forkDirectory)
        let common = try await bench.head()
        for (store, number) in [(bench.store, Int64(100)), (forked, Int64(200))] {
            let clock = HLC(milliseconds: Self.now, counter: 50, device: "desk")
            let change = Change(
                changeID: UUIDv7Generator.id(at: clock), table: "round", recordID: UUIDv7Generator.id(at: clock),
                op: .insert, fields: ["number": .int(number)], baseVersion: 0, hlc: clock.description, device: "desk")
            #expect(try await store.pushSigned([change], by: bench.coordinator, now: Self.now).first?.seq == common + 1)
        }
        #expect(try await forked.verify().failure == nil, "the fork is a sound history of its own")
        let checkpoint = try await forked.checkpoint(now: Self.now)
        #expect(checkpoint.seq == common + 1)
        let (verifier, hashes) = try await Bench.hashes(of: bench.store)
        let failure = try #require(verifier.check(checkpoint) { hashes[$0] })
        #expect(failure.seq == common + 1, "\(failure)")
        #expect(failure.problem.contains("forked"), "\(failure)")

        // Kept in the store beside its own history, the store's verification names it too.
        try await bench.file().write { db in
            try db.execute(
                sql: "INSERT INTO checkpoint(seq, hash, time, public_key, signature) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    checkpoint.seq, checkpoint.hash, checkpoint.time, checkpoint.publicKey, checkpoint.signature,
                ])
        }
        #expect(try await bench.store.verify().failure?.seq == common + 1)
    }
}
