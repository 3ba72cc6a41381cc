import Foundation
import TandemTesting
import Testing

/// `tandem import` and `export`: one transaction, all or nothing, errors naming the line.
@Suite struct CLIImportTests {
    private func exchangesCSV(_ fixture: CLIFixture, rows: [String]) -> String {
        "round,person,home,host,starts_on,ends_on,status\n"
            + rows.map { "\(fixture.round),\(fixture.ana),\(fixture.ministry),\(fixture.company),\($0)\n" }.joined()
    }

    @Test func importInsertsEveryRowAndExportReadsBack() throws {
        let fixture = try CLIFixture.populated()
        let file = try fixture.folder.write(
            exchangesCSV(
                fixture,
                rows: ["2026-05-04,2026-05-08,confirmed", "2026-06-01,2026-06-05,", "2026-07-01,2026-07-01,draft"]),
            to: "exchanges.csv")
        let result = try fixture.tandem(["import", "exchange", file])
        #expect(result.status == 0, "\(result)")
        #expect(result.output == "Imported 3 exchange records")
        let exported = try fixture.tandem(["export", "exchange", "--format", "csv"]).stdout
        #expect(exported.split(separator: "\n").count == 4)

        // What export writes, import reads back (ids included) into another replica.
        let other = try CLIFixture()
        for table in ["round", "organisation", "person", "exchange"] {
            let csv = try fixture.tandem(["export", table, "--format", "csv"]).stdout
            let path = try other.folder.write(csv, to: "\(table).csv")
            let imported = try other.tandem(["import", table, path])
            #expect(imported.status == 0, "\(imported)")
        }
        #expect(
            try other.tandem(["export", "exchange", "--format", "json"]).stdout
                == (try fixture.tandem(["export", "exchange", "--format", "json"]).stdout))
    }

    @Test func quotedFieldsWithCommasQuotesAndLineBreaksRoundTrip() throws {
        let fixture = try CLIFixture.populated()
        let notes = "line one, with a comma\nline \"two\""
        let id = try fixture.id(["add", "exchange"] + fixture.exchange + ["notes=\(notes)"])
        let csv = try fixture.tandem(["export", "exchange", "--format", "csv"]).stdout
        let other = try CLIFixture.populated()
        _ = try other.tandem(["rm", "person", other.ana])
        // Re-point the references at the other replica's records and import there.
        var text = csv
        for (mine, theirs) in [
            (fixture.round, other.round), (fixture.ana, other.ana), (fixture.ministry, other.ministry),
            (fixture.company, other.company),
        ] {
            text = text.replacingOccurrences(of: mine, with: theirs)
        }
        let path = try other.folder.write(text, to: "x.csv")
        _ = try other.tandem(["add", "person", "id=\(other.ana)", "organisation=\(other.ministry)", "full_name=Ana"])
        let imported = try other.tandem(["import", "exchange", path])
        #expect(imported.status == 0, "\(imported)")
        let record = try #require(try other.json(["get", "exchange", id]) as? [String: Any])
        #expect(record["notes"] as? String == notes)
    }

    @Test(arguments: [
        (
            "bad value on line 3", "2026-05-04,2026-05-08,confirmed\n{R},2026-06-01,2026-06-05,maybe",
            "x.csv:3: exchange.status: \"maybe\" is not one of"
        ),
        (
            "date order on line 2", "{R},2026-06-01,2026-05-05,draft",
            "x.csv:2: exchange.ends_on: 2026-05-05 is before starts_on 2026-06-01"
        ),
        (
            "too few values", "2026-05-04,2026-05-08,confirmed\n{R},2026-06-01",
            "x.csv:3: expected 7 values as in the header, found 5"
        ),
        ("unterminated quote", "2026-05-04,2026-05-08,\"confirmed", "x.csv:2: a quoted field is never closed"),
        ("text after a quote", "2026-05-04,2026-05-08,\"confirmed\"x", "x.csv:2: text after a closing quote"),
    ])
    func aBadRowNamesItsLineAndNothingIsImported(name: String, body: String, message: String) throws {
        let fixture = try CLIFixture.populated()
        let prefix = "\(fixture.round),\(fixture.ana),\(fixture.ministry),\(fixture.company)"
        let lines = body.replacingOccurrences(of: "{R}", with: prefix)
        let csv =
            "round,person,home,host,starts_on,ends_on,status\n"
            + (lines.hasPrefix("{") || lines.hasPrefix(fixture.round) ? "" : prefix + ",") + lines + "\n"
        let path = try fixture.folder.write(csv, to: "x.csv")
        let before = try fixture.snapshot()
        let result = try fixture.tandem(["import", "exchange", path])
        #expect(result.status == 65, "\(result)")
        #expect(result.stderr.hasPrefix("tandem: " + message), "\(result.stderr)")
        #expect(result.stderr.filter { $0 == "\n" }.count == 1)
        #expect(try fixture.snapshot() == before)
    }

    @Test func aBadHeaderIsRefused() throws {
        let fixture = try CLIFixture.populated()
        let unknown = try fixture.folder.write("name,sector,colour\nA,public,red\n", to: "h.csv")
        let result = try fixture.tandem(["import", "organisation", unknown])
        #expect(result.status == 65)
        #expect(result.stderr == "tandem: h.csv:1: organisation has no field \"colour\"\n")
        let twice = try fixture.folder.write("name,name,sector\nA,B,public\n", to: "t.csv")
        #expect(
            try fixture.tandem(["import", "organisation", twice]).stderr
                == "tandem: t.csv:1: column \"name\" appears twice\n")
    }

    @Test func aDuplicateIdInsideTheFileIsRefused() throws {
        let fixture = try CLIFixture.populated()
        let id = "0193aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee"
        let path = try fixture.folder.write("id,name,sector\n\(id),A,public\n\(id),B,public\n", to: "d.csv")
        let result = try fixture.tandem(["import", "organisation", path])
        #expect(result.status == 65)
        #expect(result.stderr == "tandem: d.csv:3: organisation.id: a record with id \(id) already exists\n")
    }

    @Test func aMissingFileIs66() throws {
        let fixture = try CLIFixture.populated()
        let result = try fixture.tandem(["import", "exchange", fixture.folder.path("nowhere.csv")])
        #expect(result.status == 66)
        #expect(result.stderr.hasSuffix("nowhere.csv: no such file\n"))
    }

    /// Killed mid-import — once the import's one transaction has written into the WAL, long
    /// before it can commit — the replica holds none of the rows, opens sound, and the import
    /// run again completes.
    @Test func aKilledImportLeavesNothingAndARerunCompletes() throws {
        let fixture = try CLIFixture.populated()
        let rows = 60_000
        var csv = "round,person,home,host,starts_on,ends_on\n"
        let row = "\(fixture.round),\(fixture.ana),\(fixture.ministry),\(fixture.company),2026-05-04,2026-05-08\n"
        csv.reserveCapacity(row.utf8.count * rows + 64)
        for _ in 0..<rows { csv += row }
        let path = try fixture.folder.write(csv, to: "big.csv")
        let outbox = try rawInt(fixture.db, "SELECT count(*) FROM tandem_outbox")
        let wal = fixture.db + "-wal"
        func walSize() -> Int { (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0 }
        let walBefore = walSize()
        let process = ChildProcess()
        process.executableURL = BinaryRunner.binaryDirectory.appendingPathComponent("tandem")
        process.arguments = ["import", "exchange", path, "--db", fixture.db]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Under way: the transaction's pages spill into the WAL (the page cache is a few MiB,
        // the import writes tens) past what the WAL held before.
        let deadline = Date().addingTimeInterval(60)
        while walSize() < walBefore + (1 << 20), process.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.002)
        }
        let walAtKill = walSize()
        let wasRunning = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(wasRunning, "the import ended before it was seen under way (WAL \(walBefore) → \(walAtKill) bytes)")
        #expect(walAtKill >= walBefore + (1 << 20), "WAL \(walBefore) → \(walAtKill) bytes: never seen under way")
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL)

        // Nothing half-written: no row, no change queued; the file is sound and opens.
        #expect(try rawInt(fixture.db, "SELECT count(*) FROM exchange") == 0)
        #expect(try rawInt(fixture.db, "SELECT count(*) FROM tandem_outbox") == outbox)
        #expect(
            try rawInt(fixture.db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'") == 0)
        #expect(try fixture.tandem(["status"]).status == 0)

        // Run again, the import completes: every row, each queued once.
        let rerun = try fixture.tandem(["import", "exchange", path])
        #expect(rerun.status == 0, "\(rerun)")
        #expect(rerun.output == "Imported \(rows) exchange records")
        #expect(try rawInt(fixture.db, "SELECT count(*) FROM exchange") == rows)
        #expect(try rawInt(fixture.db, "SELECT count(*) FROM tandem_outbox WHERE tbl = 'exchange'") == rows)
    }
}
