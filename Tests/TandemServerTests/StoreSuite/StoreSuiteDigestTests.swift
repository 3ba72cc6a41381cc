import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// `GET /v1/digest` (docs/sync.md, "Am I in sync?"): per table, the live records a token may see,
/// exactly as its pulls deliver them, counted and digested (``TableDigest``).
@Suite struct StoreSuiteDigestTests {
    @Test(arguments: StoreKind.allCases)
    func eachTokensDigestIsWhatItsPullsDeliver(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (ana, _) = try await bench.anaOnAnExchange()
        _ = try await bench.person(of: bench.town, "Bo")
        let gone = try await bench.person(of: bench.town, "Cy")
        try await bench.expect(
            [.applied], [bench.update("person", ana, base: 1, ["email": .string("ana@gov.example")])],
            by: bench.member(bench.ministry))
        try await bench.expect([.applied], [bench.delete("person", gone, base: 1)], by: bench.member(bench.town))
        // A set, kept as an array: digested through the parser rather than as the stored text.
        try await bench.expect(
            [.applied],
            [
                bench.insert(
                    "practice", bench.newID(),
                    [
                        "organisation": .string(bench.town), "title": .string("Lean"),
                        "tags": .array([.string("b"), .string("a")]),
                    ])
            ], by: bench.member(bench.town))
        let adapter = try #require(bench.store as? any StoreAdapter)
        for principal in [bench.coordinator, bench.auditor]
            + [bench.ministry, bench.company, bench.town].map(bench.member)
        {
            let expected = try await Self.digests(ofWhatPullsDeliverTo: principal, in: bench)
            let answered = try await bench.store.digests(for: principal)
            #expect(answered.tables == expected, "\(principal.role) \(principal.organisation ?? "")")
            // Read two records at a time, the answer is the same.
            #expect(try await adapter.digests(for: principal, page: 2) == answered)
        }
        let company = try await bench.store.digests(for: bench.member(bench.company)).tables
        let coordinator = try await bench.store.digests(for: bench.coordinator).tables
        #expect(company.map(\.table) == Schema.partnership.tables.map(\.name))
        #expect(company.first { $0.table == "person" }?.records == 1, "the host sees Ana, not Bo")
        #expect(coordinator.first { $0.table == "person" }?.records == 2, "Ana and Bo; Cy is deleted")
        #expect(company.first { $0.table == "organisation" } == coordinator.first { $0.table == "organisation" })
    }

    @Test(arguments: StoreKind.allCases)
    func aChangeChangesOnlyItsTablesDigest(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (ana, _) = try await bench.anaOnAnExchange()
        let before = try await bench.store.digests(for: bench.coordinator).tables
        try await bench.expect(
            [.applied], [bench.update("person", ana, base: 1, ["phone": .string("+386 1")])],
            by: bench.member(bench.ministry))
        let after = try await bench.store.digests(for: bench.coordinator).tables
        #expect(zip(before, after).filter { $0 != $1 }.map(\.0.table) == ["person"])
        #expect(after.first { $0.table == "person" }?.records == 1)
    }

    /// The digests of a replica that pulled everything as `principal`: each record's last item,
    /// when it is visible and live, with its version and values.
    static func digests(ofWhatPullsDeliverTo principal: Principal, in bench: StoreBench) async throws -> [TableDigest] {
        var last: [String: PullItem] = [:]
        for item in try await bench.pullAll(principal).items { last[item.recordID] = item }
        let schema = try await bench.store.currentSchema()
        return try schema.tables.map { table in
            var digest = TableDigest(table: table.name)
            for item in last.values where item.table == table.name && item.isVisible && !item.isDeleted {
                var values: [String: FieldValue] = [:]
                for (name, json) in item.record ?? [:] {
                    values[name] = try FieldValue(json: json, for: try table.field(named: name), in: table.name)
                }
                digest.add(id: item.recordID, version: item.version, values: values)
            }
            return digest
        }
    }
}
