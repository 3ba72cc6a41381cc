import GRDB
import TandemClient
import TandemProtocol
import Testing

/// Table output names records (SPEC §3, docs/replica.md "Short ids"): a label field per table, read
/// from the schema, and short ids from the random end of the ids.
@Suite struct RecordNamesTests {
    @Test func eachTableIsNamedByItsFirstRequiredTextOrUniqueField() {
        let labels = Schema.partnership.tables.map { "\($0.name):\(RecordNames.labelField(of: $0)?.name ?? "-")" }
        #expect(
            labels == [
                "round:number", "organisation:name", "person:full_name", "challenge:title", "exchange:-",
                "practice:title",
            ])
    }

    @Test func idsMadeInTheSameMillisecondGetShortIdsFromTheirRandomEnd() throws {
        let fixture = try Fixture()
        let persons = try (0..<200).map { index in
            try fixture.replica.editor.insert(
                into: "person", [.init("organisation", fixture.ministry), .init("full_name", "P\(index)")]
            ).id
        }
        let names = try fixture.replica.names(of: ["person"])
        let shorts = persons.map { names.shortID($0, in: "person") }
        #expect(Set(shorts).count == persons.count, "short ids are unique")
        #expect(shorts.allSatisfy { $0.hasPrefix("@") && (7...13).contains($0.count) })
        // Six characters of the random end, more when two of the 200 share those (about 1 run in 800).
        #expect(
            zip(persons, shorts).allSatisfy { id, short in
                short.count >= 7 && id.dropFirst(24).hasPrefix(short.dropFirst())
            })
        #expect(Set(persons.map { $0.prefix(8) }).count < persons.count, "their leading characters repeat")
        // Every short id (and any longer start of the last group) names its record again.
        for (id, short) in zip(persons, shorts).prefix(20) {
            #expect(try fixture.replica.record(in: "person", id: short).id == id)
            #expect(try fixture.replica.record(in: "person", id: "@" + id.dropFirst(24)).id == id)
            #expect(try fixture.replica.record(in: "person", id: String(id.prefix(30))).id == id, "prefixes as before")
        }
    }

    @Test func theShortIdGrowsUntilItTellsRecordsApart() {
        let ids = ["0193a000-0000-7000-8000-abcdef012345", "0193a000-0000-7000-8000-abcdef012399"]
        #expect(RecordNames.shortLength(of: ids) == 11)
        #expect(RecordNames.shortLength(of: ids.prefix(1)) == RecordNames.minimumShortLength)
    }

    @Test func aNameIsTheLabelWithAShortIdOnlyWhenShared() throws {
        let fixture = try Fixture()
        let twin = try fixture.replica.editor.insert(
            into: "person", [.init("organisation", fixture.company), .init("full_name", "Ana")]
        ).id
        let exchange = try fixture.exchange()
        let names = try fixture.replica.names(of: ["person", "organisation", "exchange"])
        #expect(names.name(of: fixture.marko, in: "person") == "Marko")
        #expect(names.name(of: fixture.ana, in: "person") == "Ana " + names.shortID(fixture.ana, in: "person"))
        #expect(names.name(of: twin, in: "person") == "Ana " + names.shortID(twin, in: "person"))
        #expect(names.name(of: exchange.id, in: "exchange") == names.shortID(exchange.id, in: "exchange"))
        let unknown = "0193a000-0000-7000-8000-000000000009"
        #expect(names.name(of: unknown, in: "person") == unknown, "a record the replica does not hold: its id")
        let home = try #require(
            Schema.partnership.tables.first { $0.name == "exchange" }?.fields.first { $0.name == "home" })
        #expect(names.text(.text(fixture.ministry), of: home) == "Ministry")
        #expect(names.text(json: .string(fixture.company), of: home) == "Kovina")
        #expect(RecordNames().name(of: fixture.ana, in: "person") == fixture.ana, "no names read: ids")
    }

    @Test func tablesNameReferencesButJSONAndCSVKeepIds() throws {
        let fixture = try Fixture()
        let exchange = try fixture.exchange()
        let table = try fixture.replica.table("exchange")
        let names = try fixture.replica.names(of: fixture.replica.namedTables(for: table))
        let text = RecordFormat.render([exchange], of: table, as: .table, names: names)
        #expect(text.contains("Ana") && text.contains("Ministry") && text.contains("Kovina") && text.contains("5"))
        #expect(!text.contains(fixture.ana) && !text.contains(exchange.id))
        #expect(text.contains(names.shortID(exchange.id, in: "exchange")))
        for format in [OutputFormat.json, .csv] {
            let named = RecordFormat.render([exchange], of: table, as: format, names: names)
            #expect(named == RecordFormat.render([exchange], of: table, as: format), "\(format) is unchanged")
            #expect(named.contains(fixture.ana) && named.contains(exchange.id))
        }
    }
}
