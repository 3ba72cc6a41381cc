import GRDB
import TandemClient
import TandemProtocol
import Testing

/// `tandem check` (docs/sync.md, "Am I in sync?"): the replica's digests of its tables, and how
/// they are compared with the server's.
@Suite struct CheckReportTests {
    private static func digest(_ table: String, _ records: [(String, Int64, [String: FieldValue])]) -> TableDigest {
        var digest = TableDigest(table: table)
        for (id, version, values) in records { digest.add(id: id, version: version, values: values) }
        return digest
    }

    @Test func aReplicaDigestsItsRowsWithTheirServerVersionsAndValues() throws {
        let fixture = try Fixture()
        let digests = try fixture.replica.digests()
        #expect(digests.map(\.table) == Schema.partnership.tables.map(\.name))
        let organisations = try fixture.replica.records(in: "organisation").map { ($0.id, Int64(0), $0.values) }
        #expect(digests.first { $0.table == "organisation" } == Self.digest("organisation", organisations))
        #expect(digests.first { $0.table == "person" }?.records == 2)
        #expect(
            try fixture.replica.pendingChangesByTable() == ["round": 1, "organisation": 3, "person": 2],
            "the fixture's inserts wait in the outbox")

        // A server version, and a value changed behind Tandem's back, each change the table's digest alone.
        try fixture.replica.withDatabase { db in
            try db.execute(
                sql: "INSERT INTO tandem_record(id, tbl, version) VALUES (?, 'person', 3)", arguments: [fixture.ana])
        }
        let versioned = try fixture.replica.digests()
        try fixture.replica.withDatabase { db in
            try db.execute(
                sql: "UPDATE organisation SET name = 'Kovina d.d.' WHERE id = ?", arguments: [fixture.company])
        }
        let edited = try fixture.replica.digests()
        #expect(zip(digests, versioned).filter { $0 != $1 }.map(\.0.table) == ["person"])
        #expect(zip(versioned, edited).filter { $0 != $1 }.map(\.0.table) == ["organisation"])
    }

    @Test func equalDigestsAreInSync() {
        let round = Self.digest("round", [("r1", 1, ["number": .int(1)])])
        let report = CheckReport(
            replica: [round, TableDigest(table: "person")], server: [round, TableDigest(table: "person")], pending: [:])
        #expect(report.isInSync)
        #expect(report.tables.map(\.status) == [.equal, .equal])
        #expect(report.lines == ["in sync: 2 tables, 1 record"])
    }

    @Test func eachTableThatDiffersIsNamedWithItsCounts() {
        let one = Self.digest("person", [("p1", 1, ["full_name": .text("Ana")])])
        let other = Self.digest("person", [("p1", 2, ["full_name": .text("Ana")])])
        let two = Self.digest("round", [("r1", 1, [:]), ("r2", 1, [:])])
        let report = CheckReport(
            replica: [TableDigest(table: "round"), one, Self.digest("practice", [("x", 1, [:])])],
            server: [two, other, TableDigest(table: "practice")], pending: [:])
        #expect(!report.isInSync)
        #expect(report.tables.map(\.table) == ["round", "person", "practice"])
        #expect(report.tables.map(\.status) == [.differs, .differs, .differs])
        #expect(
            report.lines == [
                "round: differs: 0 here, 2 on the server (at least 2 records differ)",
                "person: differs: 1 record on both sides, not the same versions or values",
                "practice: differs: 1 here, 0 on the server (at least 1 record differs)",
            ])
        #expect(report.tables[0].leastDiffering == 2)
    }

    @Test func aTableWithPendingChangesIsNotInSync() throws {
        let round = Self.digest("round", [("r1", 1, [:])])
        let report = CheckReport(replica: [round, round], server: [round], pending: ["round": 2])
        #expect(report.tables.map(\.status) == [.pending])
        #expect(!report.isInSync)
        #expect(report.lines == ["round: 2 pending changes not pushed yet (1 here, 1 on the server)"])
        let json = report.json
        #expect(json["in_sync"] == .bool(false))
        guard case let .array(tables)? = json["tables"], let first = tables.first else {
            Issue.record("no tables in \(json.serialized())")
            return
        }
        #expect(
            first.serialized()
                == #"{"table":"round","status":"pending","records":1,"server_records":1,"pending":2,"digest":"\#(round.hex)","server_digest":"\#(round.hex)"}"#
        )
    }
}
