import Foundation
import GRDB
import TandemClient
import TandemProtocol
import Testing

/// `tandem get … --as-of`: a record rebuilt from hand-made histories, from the audit store and
/// from pulled log entries, replaying what the merge did with each change.
@Suite struct AsOfTests {
    static let desk = Author(organisation: nil, role: .coordinator, device: "desk")
    static let laptop = Author(organisation: "0193a1b2-0000-7000-8000-000000000001", role: .member, device: "laptop")
    static let phone = Author(organisation: "0193a1b2-0000-7000-8000-000000000002", role: .member, device: "phone")
    static let round = "0196b000-0000-7000-8000-000000000001"
    static let practice = "0196b000-0000-7000-8000-000000000002"

    /// A round's life, seqs 3–8 (one a minute from 2026-05-04T08:42Z): inserted with only its
    /// number; titled; a concurrent title that lost; a concurrent title that won, with a status;
    /// a rejected edit; deleted.
    static func roundLife() -> SignedHistory {
        var history = SignedHistory()
        history.registerDevice("desk", key: SigningKey(), for: desk)
        history.log(
            .insert, "round", round, ["number": .int(5)], by: desk, key: nil,
            outcome: Outcome(status: .applied, version: 1, applied: ["number", "status"]))
        history.log(
            .update, "round", round, ["title": .string("Spring")], base: 1, by: desk, key: nil,
            outcome: Outcome(status: .applied, version: 2, applied: ["title"]))
        history.log(
            .update, "round", round, ["title": .string("Autumn")], base: 1, by: laptop, key: nil,
            outcome: Outcome(
                status: .conflict, version: 3, applied: [],
                conflicts: [FieldConflict(field: "title", rule: .lww, kept: .string("Spring"), lost: .string("Autumn"))]
            ))
        history.log(
            .update, "round", round, ["title": .string("Winter"), "status": .string("open")], base: 2, by: laptop,
            key: nil,
            outcome: Outcome(
                status: .merged, version: 4, applied: ["status", "title"],
                conflicts: [FieldConflict(field: "title", rule: .lww, kept: .string("Winter"), lost: .string("Spring"))]
            ))
        history.log(
            .update, "round", round, ["title": .string("Nope")], base: 4, by: laptop, key: nil,
            outcome: .rejected("not_permitted", version: 4))
        history.log(
            .delete, "round", round, base: 4, by: desk, key: nil, outcome: Outcome(status: .applied, version: 5))
        return history
    }

    /// A practice's tags (`union`): set by its organisation, replaced by another, then a
    /// concurrent edit based on version 1 (union), then a plain one.
    static func tagsLife() -> SignedHistory {
        var history = SignedHistory()
        history.log(
            .insert, "practice", practice,
            [
                "organisation": .string(laptop.organisation!), "title": .string("Shadowing"),
                "tags": .array([.string("a")]),
            ],
            by: laptop, key: nil,
            outcome: Outcome(status: .applied, version: 1, applied: ["organisation", "tags", "title"]))
        history.log(
            .update, "practice", practice, ["tags": .array([.string("b")])], base: 1, by: phone, key: nil,
            outcome: Outcome(status: .applied, version: 2, applied: ["tags"]))
        history.log(
            .update, "practice", practice, ["tags": .array([.string("c")])], base: 1, by: laptop, key: nil,
            outcome: Outcome(status: .merged, version: 3, applied: ["tags"]))
        history.log(
            .update, "practice", practice, ["tags": .array([.string("d")])], base: 3, by: laptop, key: nil,
            outcome: Outcome(status: .applied, version: 4, applied: ["tags"]))
        return history
    }

    /// A replica holding `history` in its audit store (as `tandem audit pull` leaves it).
    static func audited(_ history: SignedHistory) throws -> Replica {
        let replica = try Replica.create(in: try DatabaseQueue())
        _ = try AuditEngine(replica: replica, transport: HistoryServer(history)).pull()
        return replica
    }

    /// A replica holding the entries of `history` as pulled log entries (`tandem_history`, as a
    /// sync leaves them: no `base_version`, no HLC), from `seq` on.
    static func pulled(_ history: SignedHistory, from seq: Int64 = 1, into replica: Replica? = nil) throws -> Replica {
        let replica = try replica ?? Replica.create(in: try DatabaseQueue())
        try replica.withDatabase { db in
            for entry in history.entries where entry.seq >= seq {
                guard case let .string(table)? = entry.change["table"], table != DeviceRegistry.table,
                    case let .string(record)? = entry.change["record_id"], case let .string(op)? = entry.change["op"],
                    case let .string(changeID)? = entry.change["change_id"]
                else { continue }
                try db.execute(
                    sql: """
                        INSERT INTO tandem_history(seq, tbl, record_id, version, time, author, op, fields, outcome, change_id)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        entry.seq, table, record,
                        entry.outcome["version"].flatMap { if case let .int(v) = $0 { v } else { nil } },
                        entry.time, entry.author.json.serialized(), op,
                        (entry.change["fields"] ?? .object([])).serialized(),
                        entry.outcome.serialized(), changeID,
                    ])
            }
        }
        return replica
    }

    private func title(_ replica: Replica, _ point: String) throws -> FieldValue {
        try replica.record(in: "round", id: Self.round, asOf: try AsOfPoint(parsing: point))["title"]
    }

    private func missing(_ replica: Replica, _ point: String, id: String = Self.round) -> ReplicaError? {
        #expect(throws: ReplicaError.self) {
            try replica.record(in: "round", id: id, asOf: try AsOfPoint(parsing: point))
        }
    }

    @Test(arguments: [true, false]) func aRecordIsRebuiltAtEverySeq(fromAuditStore: Bool) throws {
        let history = Self.roundLife()
        let replica = fromAuditStore ? try Self.audited(history) : try Self.pulled(history)
        #expect(missing(replica, "2")?.message == "round \(Self.round) did not exist yet at seq 2")
        #expect(missing(replica, "2")?.code == .notFound)
        let inserted = try replica.record(in: "round", id: Self.round, asOf: .seq(3))
        #expect(inserted.values == ["number": .int(5), "status": .text("planned")], "the schema's default")
        #expect(try title(replica, "4") == .text("Spring"))
        #expect(try title(replica, "5") == .text("Spring"), "a title that lost its conflict changes nothing")
        let won = try replica.record(in: "round", id: Self.round, asOf: .seq(6))
        #expect(won["title"] == .text("Winter") && won["status"] == .text("open"))
        #expect(try title(replica, "7") == .text("Winter"), "a rejected change changes nothing")
        #expect(missing(replica, "8")?.message == "round \(Self.round) was deleted at seq 8, before seq 8")
        #expect(missing(replica, "1000")?.code == .notFound)
        // A prefix finds the deleted record through its history.
        #expect(
            try replica.record(in: "round", id: String(Self.round.prefix(20)), asOf: .seq(4))["title"]
                == .text("Spring"))
    }

    @Test func timesAndDatesPickTheEntriesStampedUpToThem() throws {
        // Seq 3 at 08:42Z, 4 at 08:43Z, 5 at 08:44Z, 6 at 08:45Z, 7 at 08:46Z, 8 at 08:47Z.
        let replica = try Self.audited(Self.roundLife())
        #expect(missing(replica, "2026-05-03")?.message.contains("did not exist yet at 2026-05-03T23:59:59") == true)
        #expect(missing(replica, "2026-05-04")?.message.contains("was deleted at seq 8") == true, "the end of that day")
        #expect(try title(replica, "2026-05-04T08:42:59.999Z") == .null)
        #expect(try title(replica, "2026-05-04T08:43:00Z") == .text("Spring"), "an entry stamped at the time counts")
        #expect(try title(replica, "2026-05-04T10:45:30+02:00") == .text("Winter"), "08:45:30Z")
        #expect(try title(replica, "2026-05-04T08:44:30.5-00:00") == .text("Spring"))
    }

    @Test(arguments: [true, false]) func aUnionFieldMergesConcurrentEdits(fromAuditStore: Bool) throws {
        let history = Self.tagsLife()
        let replica = fromAuditStore ? try Self.audited(history) : try Self.pulled(history)
        func tags(_ seq: Int64) throws -> FieldValue {
            try replica.record(in: "practice", id: Self.practice, asOf: .seq(seq))["tags"]
        }
        #expect(try tags(2) == .set(["a"]))
        #expect(try tags(3) == .set(["b"]), "based on the current version: replaced")
        #expect(try tags(4) == .set(["b", "c"]), "concurrent: the union")
        #expect(try tags(5) == .set(["d"]))
    }

    @Test func theAuditStoreComesFirstAndPulledEntriesCarryOnAfterIt() throws {
        var history = Self.roundLife()
        // The audit store holds seqs 1–6; a later sync pulled 3–9, where 9 revives nothing
        // (the round was deleted at 8) and a new round appears.
        var early = history
        early.truncate(to: 6)
        let replica = try Self.audited(early)
        let other = "0196b000-0000-7000-8000-000000000003"
        history.log(
            .insert, "round", other, ["number": .int(6), "title": .string("Pulled")], by: Self.desk, key: nil,
            outcome: Outcome(status: .applied, version: 1, applied: ["number", "status", "title"]))
        _ = try Self.pulled(history, from: 3, into: replica)
        try replica.withDatabase { db in
            try db.execute(sql: "UPDATE tandem_history SET fields = '{\"title\":\"Wrong\"}' WHERE seq = 4")
        }
        #expect(try title(replica, "4") == .text("Spring"), "the audit store's entry, not the pulled one")
        #expect(missing(replica, "8")?.message.contains("was deleted at seq 8") == true, "pulled after the audit head")
        #expect(try replica.record(in: "round", id: other, asOf: .seq(9))["title"] == .text("Pulled"))

        let versions = try replica.history(of: "round", id: Self.round)
        #expect(versions.map(\.seq) == [3, 4, 5, 6, 7, 8])
        #expect(versions.map(\.op) == [.insert, .update, .update, .update, .update, .delete])
        #expect(versions[1].fields == .object([JSONMember("title", .string("Spring"))]))
        #expect(versions[4].outcome["reason"] == .string("not_permitted"))
        #expect(versions.allSatisfy { !$0.isPending })
    }

    @Test func aPulledHistoryThatStartsAfterTheInsertIsNotGuessedFrom() throws {
        // A record that became visible to a member later: its pulled history starts at an update.
        let replica = try Self.pulled(Self.roundLife(), from: 4)
        let error = missing(replica, "6")
        #expect(error?.message.contains("starts at seq 4, after the record was created") == true)
        #expect(error?.code == .notFound)
        #expect(
            missing(replica, "5", id: "0196b000-0000-7000-8000-00000000ffff")?.message.contains("has no entry") == true)
    }

    @Test func asOfTextIsASeqATimeOrADate() throws {
        #expect(try AsOfPoint(parsing: "42") == .seq(42))
        #expect(try AsOfPoint(parsing: "0") == .seq(0))
        #expect(try AsOfPoint(parsing: "2026-05-04") == .time("2026-05-04T23:59:59.999999999Z"))
        #expect(try AsOfPoint(parsing: "2026-05-04T10:00:00Z") == .time("2026-05-04T10:00:00Z"))
        #expect(try AsOfPoint(parsing: "2026-05-04t10:00:00.25+00:00") == .time("2026-05-04T10:00:00.25Z"))
        #expect(try AsOfPoint(parsing: "2026-05-04T01:30:00+02:00") == .time("2026-05-03T23:30:00Z"))
        #expect(try AsOfPoint(parsing: "2026-12-31T23:30:00.5-01:00") == .time("2027-01-01T00:30:00.5Z"))
        for bad in ["", "-1", "x", "2026-02-30", "2026-05-04T25:00:00Z", "2026-05-04 10:00", "99999999999999999999"] {
            let error = #expect(throws: ReplicaError.self, "\(bad)") { try AsOfPoint(parsing: bad) }
            #expect(error?.code == .usage)
        }
    }
}
