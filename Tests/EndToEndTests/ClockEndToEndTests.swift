import Foundation
import TandemTesting
import Testing

/// The real `tandem` on a wrong clock (``FakeTime``, for the CLI process only) against a real
/// `tandem-server` on the right one: every edit reaches the server and the other replicas, `lww`
/// follows when the edits were made, and `status` says how far off the clock is.
@Suite struct ClockEndToEndTests {
    @Test func theShiftedClockIsReallyShifted() throws {
        let folder = try TemporaryDirectory()
        let db = folder.path("offline.sqlite")
        let shifted = FakeTime.environment("+20m")
        #expect(try BinaryRunner.run("tandem", ["init", "--db", db], environment: shifted).status == 0)
        let id = try BinaryRunner.run("tandem", ["add", "round", "number=5", "--db", db], environment: shifted).output
        // A replica that never met a server stamps with its own clock: 20 minutes ahead.
        let history = try BinaryRunner.run("tandem", ["history", "round", id, "--db", db, "--format", "json"])
        let entries = try #require(
            try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]], "\(history)")
        let time = try #require(entries.first?["time"] as? String)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let stamped = try #require(formatter.date(from: time), "\(time)")
        #expect(abs(stamped.timeIntervalSinceNow - 1200) < 30, "\(time)")
        let bad = try BinaryRunner.run("tandem", ["status", "--db", db], environment: FakeTime.environment("soon"))
        #expect(bad.status == 64 && bad.stderr.hasPrefix("tandem: TANDEM_TEST_CLOCK_SHIFT: "), "\(bad)")
    }

    @Test(arguments: [("+20m", "ahead of", "20 min"), ("-20m", "behind", "20 min"), ("+3d", "ahead of", "3 d")])
    func anEditOnAShiftedClockReachesTheServerAndTheOtherReplicas(
        clock: String, direction: String, amount: String
    ) throws {
        let world = try ExchangeWorld()
        // The laptop's clock goes wrong after it was set up: edits are made offline on it.
        try world.ok("ministry", ["set", "exchange", world.exchange, "goals=Learn procurement"], clock: clock)
        let person = try world.ok(
            "ministry", ["add", "person", "organisation=\(world.ministry.id)", "full_name=Bo"], clock: clock)
        let sync = try world.tandem("ministry", ["sync"], clock: clock)
        #expect(sync.status == 0 && sync.stderr.isEmpty, "\(sync)")
        let status = try world.json("ministry", ["status"], clock: clock)
        #expect((status["rejected"] as? [Any])?.isEmpty == true && status["pending"] as? Int == 0)
        let offset = try #require(status["_clock_offset_ms"] as? Int)
        #expect(direction == "behind" ? offset > 0 : offset < 0)
        let table = try world.ok("ministry", ["status"], clock: clock)
        #expect(
            table.contains("clock") && table.contains("\(amount)") && table.contains("\(direction) the server's"),
            "\(table)")

        try world.ok("company", ["sync"])
        try world.ok("coordinator", ["sync"])
        for name in ["company", "coordinator"] {
            #expect(
                try world.json(name, ["get", "exchange", world.exchange])["goals"] as? String == "Learn procurement")
        }
        #expect(try world.json("coordinator", ["get", "person", person])["full_name"] as? String == "Bo")
        // The replica on the right clock says nothing of clocks.
        #expect(!(try world.ok("company", ["status"])).contains("clock"))
    }

    @Test func aClockThatJumpsBackBetweenTwoEditsLosesNeither() throws {
        let world = try ExchangeWorld()
        func company() throws -> [String: Any] {
            try world.ok("company", ["sync"])
            return try world.json("company", ["get", "exchange", world.exchange])
        }
        // Synced between the edits: the first on a clock an hour fast, the second two hours earlier.
        try world.ok("ministry", ["set", "exchange", world.exchange, "goals=first"], clock: "+1h")
        let first = try world.tandem("ministry", ["sync"], clock: "+1h")
        #expect(first.status == 0 && first.stderr.isEmpty, "\(first)")
        #expect(try company()["goals"] as? String == "first")
        try world.ok("ministry", ["set", "exchange", world.exchange, "goals=second"], clock: "-1h")
        let second = try world.tandem("ministry", ["sync"], clock: "-1h")
        #expect(second.status == 0 && second.stderr.isEmpty, "\(second)")
        #expect(try company()["goals"] as? String == "second")
        // Both edits offline, the clock jumping back a day between them, synced on the right clock.
        try world.ok("ministry", ["set", "exchange", world.exchange, "goals=third"], clock: "+1d")
        try world.ok("ministry", ["set", "exchange", world.exchange, "notes=fourth"], clock: "-1h")
        let third = try world.tandem("ministry", ["sync"])
        #expect(third.status == 0 && third.stderr.isEmpty, "\(third)")
        let record = try company()
        #expect(record["goals"] as? String == "third" && record["notes"] as? String == "fourth")
    }

    /// `lww` (the default rule) between a device whose clock is wrong and one whose clock is right:
    /// the edit made later wins, whichever device syncs last — not the one whose clock runs fast,
    /// and not the one that pushed last.
    @Test(arguments: [("+20m", true), ("-20m", false)])
    func lwwBetweenAWrongClockAndARightOneFollowsWhenTheEditsWereMade(clock: String, wrongEditsFirst: Bool) throws {
        let world = try ExchangeWorld()
        let edits = [("ministry", clock, "from the \(clock) clock"), ("company", nil, "from the right clock")]
        let ordered = wrongEditsFirst ? edits : edits.reversed()
        for (name, shift, value) in ordered {
            try world.ok(name, ["set", "exchange", world.exchange, "goals=\(value)"], clock: shift)
            Thread.sleep(forTimeInterval: 0.5)
        }
        // The device that edited first syncs last.
        for (name, shift, _) in ordered.reversed() {
            let sync = try world.tandem(name, ["sync"], clock: shift)
            #expect(sync.status == 0, "\(sync)")
        }
        for (name, shift, _) in ordered { try world.ok(name, ["sync"], clock: shift) }
        let later = try #require(ordered.last?.2)
        try world.ok("coordinator", ["sync"])
        for name in ["ministry", "company", "coordinator"] {
            #expect(try world.json(name, ["get", "exchange", world.exchange])["goals"] as? String == later, "\(name)")
        }
    }
}
