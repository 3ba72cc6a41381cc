import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// The programme's rules across records (SPEC §2), decided by the store at merge: at most five
/// selected challenges a round, each with a mentor; an exchange's dates within its round; the
/// person on an exchange works for its home organisation — inside one push and across pushes.
@Suite struct StoreSuiteProgrammeRuleTests {
    func challenge(_ bench: StoreBench, _ title: String, status: String, mentor: String?) -> Change {
        var fields: [String: JSONValue] = [
            "round": .string(bench.round), "title": .string(title), "proposer": .string(bench.ministry),
            "status": .string(status),
        ]
        if let mentor { fields["mentor"] = .string(mentor) }
        return bench.insert("challenge", bench.newID(), fields)
    }

    @Test(arguments: StoreKind.allCases)
    func aRoundHoldsFiveSelectedChallengesEachWithAMentor(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let coordinator = bench.coordinator
        let mentor = try await bench.person(of: bench.ministry, "Mentor")
        // Five selected and a sixth in one push: the sixth sees the five before it.
        let six = (0..<6).map { challenge(bench, "C\($0)", status: "selected", mentor: mentor) }
        let results = try await bench.expect(
            [.applied, .applied, .applied, .applied, .applied, .rejected], six, by: coordinator)
        #expect(results.last?.reason == "limit:round" && results.last?.version == nil)
        // A proposed one may not be selected, nor inserted selected without a mentor.
        let proposed = challenge(bench, "Later", status: "proposed", mentor: nil)
        let noMentor = challenge(bench, "Bare", status: "in_progress", mentor: nil)
        let more = try await bench.push([proposed, noMentor], by: coordinator)
        #expect(more.map(\.reason) == [nil, "check:mentor"])
        let select = bench.update(
            "challenge", proposed.recordID, base: 1, ["status": .string("selected"), "mentor": .string(mentor)])
        let full = try await bench.push([select], by: coordinator)
        #expect(full.map(\.reason) == ["limit:round"] && full.first?.version == 1)
        // Editing a selected one is no sixth; completing one keeps it counted; deleting one frees a place.
        try await bench.expect(
            [.applied, .applied],
            [
                bench.update("challenge", six[0].recordID, base: 1, ["description": .string("x")]),
                bench.update("challenge", six[1].recordID, base: 1, ["status": .string("completed")]),
            ], by: coordinator)
        let stillFull = bench.update(
            "challenge", proposed.recordID, base: 1, ["status": .string("selected"), "mentor": .string(mentor)])
        #expect(try await bench.push([stillFull], by: coordinator).map(\.reason) == ["limit:round"])
        // Deleted and selected in one push: the place freed by the delete is taken by the next change.
        let freed = try await bench.expect(
            [.applied, .applied, .rejected],
            [
                bench.delete("challenge", six[2].recordID, base: 1),
                bench.update(
                    "challenge", proposed.recordID, base: 1, ["status": .string("selected"), "mentor": .string(mentor)]
                ),
                challenge(bench, "Seventh", status: "selected", mentor: mentor),
            ], by: coordinator)
        #expect(freed.last?.reason == "limit:round")
        // Another round has five places of its own.
        let other = bench.newID()
        var next = challenge(bench, "Elsewhere", status: "selected", mentor: mentor)
        next.fields["round"] = .string(other)
        try await bench.expect(
            [.applied, .applied], [bench.insert("round", other, ["number": .int(2)]), next], by: coordinator)
    }

    @Test(arguments: StoreKind.allCases)
    func exchangesStayInsideTheirRoundsWindow(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        try await bench.expect(
            [.applied],
            [
                bench.update(
                    "round", bench.round, base: 1,
                    ["opens_on": .string("2026-04-15"), "closes_on": .string("2026-09-30")])
            ], by: bench.coordinator)
        let (_, exchange) = try await bench.anaOnAnExchange()
        let ministry = bench.member(bench.ministry)
        let outside = try await bench.push(
            [
                bench.update("exchange", exchange, base: 1, ["starts_on": .string("2026-04-01")]),
                bench.update("exchange", exchange, base: 1, ["ends_on": .string("2026-10-01")]),
            ], by: ministry)
        #expect(outside.map(\.reason) == ["check:starts_on", "check:ends_on"])
        // The round may not close before the exchange ends (4–8 May), and may close on its last day.
        let early = bench.update("round", bench.round, base: 2, ["closes_on": .string("2026-05-07")])
        #expect(try await bench.push([early], by: bench.coordinator).map(\.reason) == ["check:closes_on"])
        let exact = bench.update("round", bench.round, base: 2, ["closes_on": .string("2026-05-08")])
        try await bench.expect([.applied], [exact], by: bench.coordinator)
        // A new exchange inserted in the same push as the round that frames it is checked against it.
        let (round, person) = (bench.newID(), try await bench.person(of: bench.ministry, "Bor"))
        let framed = try await bench.push(
            [
                bench.insert(
                    "round", round,
                    ["number": .int(2), "opens_on": .string("2026-06-01"), "closes_on": .string("2026-06-30")]),
                bench.insert(
                    "exchange", bench.newID(),
                    bench.exchangeFields(person: person, home: bench.ministry, host: bench.company, round: round)),
            ], by: bench.coordinator)
        #expect(framed.map(\.reason) == [nil, "check:starts_on"])
        #expect(try await bench.store.verify().failure == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func theExchangesPersonWorksForItsHome(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let bor = try await bench.person(of: bench.company, "Bor")
        // The ministry may not send the company's employee, even as the coordinator.
        let wrongHome = try await bench.push(
            [
                bench.insert(
                    "exchange", bench.newID(),
                    bench.exchangeFields(person: bor, home: bench.ministry, host: bench.company))
            ], by: bench.coordinator)
        #expect(wrongHome.map(\.reason) == ["check:person"])
        let (ana, exchange) = try await bench.anaOnAnExchange()
        let swap = try await bench.push(
            [bench.update("exchange", exchange, base: 1, ["person": .string(bor)])], by: bench.coordinator)
        #expect(swap.map(\.reason) == ["check:person"] && swap.first?.version == 1)
        // Nor may Ana move to the company while the exchange names her for the ministry.
        let moved = try await bench.push(
            [bench.update("person", ana, base: 1, ["organisation": .string(bench.company)])], by: bench.coordinator)
        #expect(
            moved.first?.status == .rejected && moved.first?.reason?.rawValue.hasPrefix("check:") == true, "\(moved)")
        #expect(try await bench.record(ana)?.record?["organisation"] == .string(bench.ministry))
    }
}
