import GRDB
import TandemClient
import TandemProtocol
import Testing

/// The outbox is written with its row, and edits of one record before a sync become one change.
@Suite struct OutboxTests {
    @Test func aFailureAfterTheRowLeavesNeitherRowNorChange() throws {
        let fixture = try Fixture()
        // Break the outbox so that the second statement of the edit's transaction fails.
        try fixture.replica.withDatabase { db in
            try db.execute(
                sql:
                    "CREATE TRIGGER refuse BEFORE INSERT ON tandem_outbox BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
            )
        }
        let before = try fixture.outbox().count
        #expect(throws: ReplicaError.self) { try fixture.exchange() }
        #expect(try fixture.count("exchange") == 0)
        #expect(try fixture.outbox().count == before)
    }

    @Test func aFailedUpdateLeavesTheRowAsItWas() throws {
        let fixture = try Fixture()
        let exchange = try fixture.exchange()
        try fixture.replica.withDatabase { db in
            try db.execute(
                sql: "CREATE TRIGGER refuse BEFORE UPDATE ON tandem_outbox BEGIN SELECT RAISE(ABORT, 'no'); END")
            try db.execute(
                sql: "CREATE TRIGGER refuse2 BEFORE INSERT ON tandem_outbox BEGIN SELECT RAISE(ABORT, 'no'); END")
        }
        #expect(throws: ReplicaError.self) {
            try fixture.replica.editor.update("exchange", id: exchange.id, [.init("status", "confirmed")])
        }
        #expect(try fixture.replica.record(in: "exchange", id: exchange.id)["status"] == .text("draft"))
    }

    @Test func anInsertAbsorbsLaterUpdates() throws {
        let fixture = try Fixture()
        let exchange = try fixture.exchange()
        try fixture.replica.editor.update("exchange", id: exchange.id, [.init("status", "confirmed")])
        try fixture.replica.editor.update("exchange", id: exchange.id, [.init("goals", "learn")])
        let entries = try fixture.outbox().filter { $0.recordID == exchange.id }
        #expect(entries.count == 1 && entries[0].op == "insert" && entries[0].fields == nil)
    }

    @Test func updatesCoalesceFieldByFieldKeepingEveryField() throws {
        let fixture = try Fixture()
        let exchange = try fixture.exchange()
        try freezeOutbox(fixture)
        try fixture.replica.editor.update(
            "exchange", id: exchange.id, [.init("status", "confirmed"), .init("goals", "a")])
        try fixture.replica.editor.update("exchange", id: exchange.id, [.init("goals", "b"), .init("notes", "c")])
        let entries = try fixture.outbox().filter { $0.recordID == exchange.id && $0.op == "update" }
        #expect(entries.count == 1)
        #expect(entries[0].fields == #"{"goals":"b","notes":"c","status":"confirmed"}"#)
    }

    @Test func aSentChangeIsFrozenAndLaterEditsMakeANewOne() throws {
        let fixture = try Fixture()
        let exchange = try fixture.exchange()
        try freezeOutbox(fixture)
        try fixture.replica.editor.update("exchange", id: exchange.id, [.init("status", "confirmed")])
        let entries = try fixture.outbox().filter { $0.recordID == exchange.id }
        #expect(entries.map(\.op) == ["insert", "update"])
        #expect(entries[1].fields == #"{"status":"confirmed"}"#)
    }

    @Test func deletingARecordNeverSentLeavesNothingToPush() throws {
        let fixture = try Fixture()
        let exchange = try fixture.exchange()
        try fixture.replica.editor.update("exchange", id: exchange.id, [.init("status", "confirmed")])
        try fixture.replica.editor.delete(from: "exchange", id: exchange.id)
        #expect(try fixture.outbox().filter { $0.recordID == exchange.id }.isEmpty)
        #expect(try fixture.count("exchange") == 0)
    }

    @Test func aDeleteAbsorbsAnUnsentUpdateAndKeepsTheServerVersion() throws {
        let fixture = try Fixture()
        let exchange = try fixture.exchange()
        try freezeOutbox(fixture)
        try fixture.replica.withDatabase { db in
            try db.execute(
                sql: "INSERT INTO tandem_record(id, tbl, version) VALUES (?, 'exchange', 4)", arguments: [exchange.id])
        }
        try fixture.replica.editor.update("exchange", id: exchange.id, [.init("status", "confirmed")])
        try fixture.replica.editor.delete(from: "exchange", id: exchange.id)
        let rows = try fixture.replica.withDatabase { db in
            try Row.fetchAll(
                db, sql: "SELECT op, base_version, fields FROM tandem_outbox WHERE record_id = ? AND change_id IS NULL",
                arguments: [exchange.id])
        }
        #expect(rows.count == 1)
        #expect(rows[0]["op"] == "delete" && rows[0]["base_version"] == 4 && rows[0]["fields"] == nil as String?)
    }

    @Test func theCoalescingRuleIsTotal() {
        typealias Entry = Outbox.Entry
        let insert = Entry(op: .insert, fields: nil, hlc: "1")
        let update = Entry(op: .update, fields: ["a": .int(1)], hlc: "2")
        let update2 = Entry(op: .update, fields: ["a": .int(2), "b": .int(3)], hlc: "3")
        let delete = Entry(op: .delete, fields: nil, hlc: "4")
        #expect(Outbox.coalesce(pending: nil, edit: update) == .append(update))
        #expect(Outbox.coalesce(pending: insert, edit: update) == .replace(Entry(op: .insert, fields: nil, hlc: "2")))
        #expect(Outbox.coalesce(pending: insert, edit: delete) == .remove)
        #expect(
            Outbox.coalesce(pending: update, edit: update2)
                == .replace(Entry(op: .update, fields: ["a": .int(2), "b": .int(3)], hlc: "3")))
        #expect(Outbox.coalesce(pending: update, edit: delete) == .replace(Entry(op: .delete, fields: nil, hlc: "4")))
    }

    /// Marks every outbox entry as sent, as a push would.
    private func freezeOutbox(_ fixture: Fixture) throws {
        try fixture.replica.withDatabase { db in
            try db.execute(sql: "UPDATE tandem_outbox SET change_id = 'sent-' || seq WHERE change_id IS NULL")
        }
    }
}
