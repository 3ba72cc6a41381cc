import Foundation
import TandemTesting
import Testing

/// A change the server refuses stays in the replica with its fields (`status`), until
/// `tandem retry` queues it again or `tandem dismiss` forgets it, both offline.
@Suite struct RejectedEndToEndTests {
    enum Refusal: String, CaseIterable, Sendable {
        /// The company takes a registration id the ministry took first: `unique:registration_id`.
        case unique
        /// The company moves the exchange's start after the end the ministry sets meanwhile: `check:ends_on`.
        case check
    }

    /// Makes the company's replica hold one refused change of `kind`; returns it (`status` JSON).
    func refuse(_ kind: Refusal, in world: ExchangeWorld) throws -> [String: Any] {
        switch kind {
        case .unique:
            try world.ok("ministry", ["set", "organisation", world.ministry.id, "registration_id=SI-9"])
            try world.ok("company", ["set", "organisation", world.company.id, "registration_id=SI-9", "web=kovina.si"])
            try world.ok("ministry", ["sync"])
        case .check:
            try world.ok("ministry", ["set", "exchange", world.exchange, "starts_on=2026-05-07"])
            try world.ok("company", ["set", "exchange", world.exchange, "ends_on=2026-05-06"])
            try world.ok("ministry", ["sync"])
        }
        let sync = try world.tandem("company", ["sync"])
        #expect(sync.status == 0 && sync.stderr == "tandem: 1 change rejected; see tandem status\n", "\(sync)")
        let status = try world.json("company", ["status"])
        #expect(status["pending"] as? Int == 0, "a refused change is not pending")
        let rejected = try #require(status["rejected"] as? [[String: Any]])
        #expect(rejected.count == 1)
        let refused = try #require(rejected.first)
        #expect(Set(refused.keys) == ["change_id", "table", "record_id", "reason", "fields"])
        let fields = try #require(refused["fields"] as? [String: Any])
        switch kind {
        case .unique:
            #expect(refused["reason"] as? String == "unique:registration_id")
            #expect(fields["registration_id"] as? String == "SI-9" && fields["web"] as? String == "kovina.si")
        case .check:
            #expect(refused["reason"] as? String == "check:ends_on")
            #expect(fields.count == 1 && fields["ends_on"] as? String == "2026-05-06")
        }
        let table = try world.ok("company", ["status"])
        #expect(table.contains("rejected: \(refused["change_id"] as? String ?? "?")"), "\(table)")
        return refused
    }

    @Test(arguments: Refusal.allCases)
    func retryQueuesTheRefusedEditAgainWithANewValue(_ kind: Refusal) throws {
        let world = try ExchangeWorld()
        let refused = try refuse(kind, in: world)
        let id = try #require(refused["change_id"] as? String)
        // As it was, the edit is refused again locally, now that the replica holds the server's state.
        let again = try world.tandem("company", ["retry", id])
        #expect(again.status == 65, "\(again)")
        #expect(again.stderr.hasPrefix("tandem: ") && again.stderr.split(separator: "\n").count == 1)
        #expect((try world.json("company", ["status"])["rejected"] as? [Any])?.count == 1, "nothing written")
        #expect(try world.tandem("company", ["retry", id, "nosuchfield=1"]).status == 65)

        let override = kind == .unique ? "registration_id=SI-10" : "ends_on=2026-05-09"
        let retried = try world.tandem("company", ["retry", String(id.prefix(13)), override])
        #expect(retried.status == 0, "\(retried)")
        let status = try world.json("company", ["status"])
        #expect((status["rejected"] as? [Any])?.isEmpty == true && status["pending"] as? Int == 1)
        let sync = try world.tandem("company", ["sync"])
        #expect(sync.status == 0 && sync.stderr.isEmpty, "\(sync)")
        try world.ok("coordinator", ["sync"])
        switch kind {
        case .unique:
            let record = try world.json("coordinator", ["get", "organisation", world.company.id])
            #expect(record["registration_id"] as? String == "SI-10" && record["web"] as? String == "kovina.si")
        case .check:
            let record = try world.json("coordinator", ["get", "exchange", world.exchange])
            #expect(record["starts_on"] as? String == "2026-05-07" && record["ends_on"] as? String == "2026-05-09")
        }
    }

    @Test(arguments: Refusal.allCases)
    func dismissForgetsTheRefusedEdit(_ kind: Refusal) throws {
        let world = try ExchangeWorld()
        let refused = try refuse(kind, in: world)
        let id = try #require(refused["change_id"] as? String)
        #expect(try world.tandem("company", ["dismiss", "01"]).status == 64, "a prefix too short")
        #expect(try world.tandem("company", ["dismiss", "ffffffff"]).status == 66)
        let dismissed = try world.tandem("company", ["dismiss", id])
        #expect(dismissed.status == 0 && dismissed.stdout.isEmpty, "\(dismissed)")
        let status = try world.json("company", ["status"])
        #expect((status["rejected"] as? [Any])?.isEmpty == true && status["pending"] as? Int == 0)
        #expect(try world.tandem("company", ["retry", id]).status == 66, "gone")
        let sync = try world.tandem("company", ["sync"])
        #expect(sync.status == 0 && sync.stdout.hasPrefix("Pushed 0 changes"), "\(sync)")
    }
}
