import Foundation
import PostgresNIO
import TandemProtocol
import TandemTesting
import Testing

@testable import TandemServer

/// An instance's cache of a PostgreSQL store (``InstanceCache``): a no-op sync answered from
/// memory, and still every answer as true as the database's — a change through another
/// instance seen within the lease, a revoked token refused by every instance once the revocation
/// returns, an organisation's removal taking its tokens, a lost listener turning the cache off.
@Suite struct PostgresCacheTests {
    /// The first store of a new bench, with its cache trusted and holding `organisation`'s token
    /// at the head (a no-op pull of it answered from memory).
    private static func listening(_ store: any ServerStore, token: String, bench: StoreBench) async throws
        -> (store: PostgresServerStore, head: Int64)
    {
        let postgres = try #require(store as? PostgresServerStore)
        let head = try await store.headSeq()
        // Generous: in a parallel run the end-to-end tests' synchronous waits for their child
        // processes hold the test process's cooperative threads, and a heartbeat that comes back
        // late renews no lease, so trust may take many seconds to come (a cache off is safe).
        let deadline = ContinuousClock.now + .seconds(300)
        while postgres.cache.pull(hash: Tokens.hash(token), since: head) == nil {
            #expect(ContinuousClock.now < deadline, "the cache never became trusted")
            if ContinuousClock.now >= deadline { break }
            _ = try await store.signedPullPage(.token(token), since: head, limit: 100, now: bench.now)
            try await Task.sleep(for: .milliseconds(20))
        }
        return (postgres, head)
    }

    /// `tandem_instance_cache_trusted` as a scrape of `store` reads it (nil when absent).
    static func cacheGauge(_ store: any ServerStore) async throws -> Double? {
        try await metric("tandem_instance_cache_trusted", of: store)
    }

    /// The value of the series `name` (no labels) in a scrape of `store` by `metrics` (nil when absent).
    static func metric(_ name: String, of store: any ServerStore, by metrics: ServerMetrics = ServerMetrics())
        async throws -> Double?
    {
        let text = try await metrics.render(reading: store)
        let prefix = name + " "
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.dropFirst(prefix.count)) }
    }

    @Test func aNoOpSyncIsAnsweredFromMemoryAndAChangeThroughAnotherInstanceIsSeenWithinTheLease() async throws {
        let bench = try await StoreBench(.postgres)
        let token = try #require(bench.tokens[bench.ministry])
        let (first, head) = try await Self.listening(bench.store, token: token, bench: bench)
        let other = try await bench.subject.another()
        let quiet = try #require(try await first.signedPullPage(.token(token), since: head, limit: 100, now: bench.now))
        #expect(quiet.page.items.isEmpty && quiet.page.next == head && quiet.principal == bench.member(bench.ministry))
        #expect(try await Self.cacheGauge(first) == 1)

        let person = bench.newID()
        let results = try await other.pushSigned(
            [bench.insert("person", person, bench.personFields(bench.ministry, "Ana"))],
            by: bench.member(bench.ministry), now: bench.now)
        #expect(results.map(\.seq) == [head + 1])
        try await Task.sleep(for: InstanceCache.lease + .milliseconds(100))
        let page = try #require(try await first.signedPullPage(.token(token), since: head, limit: 100, now: bench.now))
        #expect(page.page.items.count == 1 && page.page.items[0].contains(person) && page.page.next == head + 1)
        // And the instance's own writes at once: a push through it, then a pull from the old head.
        let second = bench.newID()
        let own = try await first.pushSigned(
            [bench.insert("person", second, bench.personFields(bench.ministry, "Bo"))],
            by: bench.member(bench.ministry), now: bench.now)
        #expect(own.map(\.seq) == [head + 2])
        let next = try #require(
            try await first.signedPullPage(.token(token), since: head + 1, limit: 100, now: bench.now))
        #expect(next.page.items.count == 1 && next.page.items[0].contains(second))
    }

    @Test func aTokenRevokedThroughAnotherInstanceIsRefusedOnceTheRevocationReturns() async throws {
        let bench = try await StoreBench(.postgres)
        let token = try #require(bench.tokens[bench.town])
        let (first, head) = try await Self.listening(bench.store, token: token, bench: bench)
        #expect(try await first.authenticate(token: token) == bench.member(bench.town))
        let other = try await bench.subject.another()
        #expect(try await other.revoke(token: token, now: bench.now))
        #expect(try await first.signedPullPage(.token(token), since: head, limit: 100, now: bench.now) == nil)
        #expect(try await first.authenticate(token: token) == nil)
    }

    @Test func anOrganisationRemovedThroughAnotherInstanceTakesItsTokensWithinTheLease() async throws {
        let bench = try await StoreBench(.postgres)
        let token = try #require(bench.tokens[bench.town])
        let (first, head) = try await Self.listening(bench.store, token: token, bench: bench)
        let other = try await bench.subject.another()
        let results = try await other.pushSigned(
            [bench.delete("organisation", bench.town, base: 1)], by: bench.coordinator, now: bench.now)
        #expect(results.map(\.status) == [.applied], "\(results)")
        try await Task.sleep(for: InstanceCache.lease + .milliseconds(100))
        #expect(try await first.signedPullPage(.token(token), since: head, limit: 100, now: bench.now) == nil)
        #expect(try await first.authenticate(token: token) == nil)
    }

    @Test func aDatabaseRestoredBehindTheInstancesBacksIsSeenWithinTheHeadsAge() async throws {
        let bench = try await StoreBench(.postgres)
        let token = try #require(bench.tokens[bench.ministry])
        let (first, head) = try await Self.listening(bench.store, token: token, bench: bench)
        let database = try #require(bench.subject.database)
        // An older copy: the last two entries gone, and no write to tell anyone.
        try await PostgresTampering.tamper(database, .remove((head - 1)...head))
        try await Task.sleep(for: InstanceCache.headAge + .milliseconds(200))
        let page = try #require(try await first.signedPullPage(.token(token), since: head, limit: 100, now: bench.now))
        #expect(page.checkpoint?.seq == head - 2, "the replica is shown the head the database holds now")
    }

    @Test func aLostListenerTurnsTheCacheOffUntilItListensAgain() async throws {
        let bench = try await StoreBench(.postgres)
        let token = try #require(bench.tokens[bench.ministry])
        let (first, head) = try await Self.listening(bench.store, token: token, bench: bench)
        let database = try #require(bench.subject.database)
        let losses = first.cache.losses
        let metrics = ServerMetrics()
        let counted = try #require(try await Self.metric("tandem_instance_cache_losses_total", of: first, by: metrics))
        try await TestPostgres.with(database) { client in
            try await client.query(
                """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE application_name = \(CacheListener.applicationName) AND datname = current_database()
                """)
        }
        // Off once the loss is seen (its listener runs on a thread of its own, and may be back a
        // second later: the count, not the state, says it was off) ...
        let deadline = ContinuousClock.now + .seconds(300)
        while first.cache.losses == losses, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(first.cache.losses > losses, "the lost listener never turned the cache off")
        // The loss is counted where an operator sees it (the same registry, scraped again).
        let after = try #require(try await Self.metric("tandem_instance_cache_losses_total", of: first, by: metrics))
        #expect(after > counted, "a scrape after the loss counts it")
        #expect(after <= Double(first.cache.losses), "a scrape counts no loss the cache did not see")
        // ... every answer read from the database meanwhile, and on again once it listens.
        #expect(try await first.signedPullPage(.token(token), since: head, limit: 100, now: bench.now) != nil)
        _ = try await Self.listening(bench.store, token: token, bench: bench)
        #expect(try await Self.cacheGauge(first) == 1)
        // A store whose listener has not started (nothing served yet) reports its cache off.
        #expect(try await Self.cacheGauge(try await bench.subject.another()) == 0)
    }
}

extension PostgresCacheTests {
    @Test func aStoreWithoutACacheHasNoCacheGauge() async throws {
        let bench = try await StoreBench(.sqliteInMemory)
        #expect(bench.store.instanceCache == nil)
        #expect(try await Self.cacheGauge(bench.store) == nil)
        #expect(try await Self.metric("tandem_instance_cache_losses_total", of: bench.store) == nil)
    }
}

/// The cache's rules, without a database.
@Suite struct InstanceCacheTests {
    private let lookup = TokenLookup(
        row: TokenRow(id: "t1", hash: "h1", role: .member, organisation: "org-1", createdAt: "2026-01-01T00:00:00Z"),
        organisationRecord: .init(table: "organisation", isDeleted: false))
    private let head = LogHead(seq: 7, hash: String(repeating: "a", count: 64))

    private func trusted() -> InstanceCache {
        let cache = InstanceCache()
        cache.confirm(sentAt: .now)
        cache.fill(hash: "h1", token: lookup, head: head, read: cache.mark())
        return cache
    }

    @Test func everyEventSaysItselfInAPayloadItIsReadBackFrom() {
        let events: [CacheEvent] = [
            .head(head), .revoked(tokenHash: "abc"), .deleted(records: ["r 1", "r\"2"]), .everything, .schema,
            .beat(instance: "i-1", number: 42),
        ]
        for event in events { #expect(CacheEvent(payload: event.payload) == event, "\(event.payload)") }
        #expect(CacheEvent(payload: "x something newer") == nil)
        let many = CacheEvent.deleted(records: (0..<1_000).map { "record-\($0)" })
        #expect(many.payload == "*", "a list too long to say is everything")
    }

    @Test func aPullIsAnsweredFromTheCacheOnlyWhileTrustedAndNotPastTheHead() {
        let cache = trusted()
        #expect(cache.pull(hash: "h1", since: 7)?.1 == head)
        #expect(cache.pull(hash: "h1", since: 6)?.1 == head, "behind the head: its page read up to the head")
        #expect(cache.pull(hash: "h1", since: 8) == nil, "past the head: the head read")
        #expect(cache.pull(hash: "h2", since: 7) == nil, "an unknown token: read")
        #expect(cache.pull(hash: "h1", since: 7, now: .now + InstanceCache.lease) == nil, "the lease ran out")
        let untrusted = InstanceCache()
        untrusted.fill(hash: "h1", token: lookup, head: head, read: untrusted.mark())
        #expect(untrusted.pull(hash: "h1", since: 7) == nil, "no heartbeat came back yet")
    }

    @Test func aHeadIsUsedOnlyWhileAReadConfirmedItLessThanASecondAgo() {
        let cache = trusted()
        cache.confirm(sentAt: .now + .seconds(5))  // a lease that holds past the head's age
        #expect(cache.pull(hash: "h1", since: 7, now: .now + .milliseconds(900)) != nil)
        #expect(cache.pull(hash: "h1", since: 7, now: .now + InstanceCache.headAge) == nil)
        #expect(cache.token(hash: "h1") != nil, "tokens are not aged: events tell of them")
    }

    @Test func aLowerHeadFoundByALaterReadEmptiesTheCache() {
        let cache = trusted()
        let early = cache.mark()
        cache.apply(.head(LogHead(seq: 9, hash: "b")))
        cache.fill(hash: "h1", token: lookup, head: head, read: early)
        #expect(cache.pull(hash: "h1", since: 9)?.1.seq == 9, "a read older than the head it would lower")
        cache.fill(
            hash: "h1", token: lookup, head: LogHead(seq: 5, hash: "c"), read: cache.mark(now: .now + .milliseconds(5)))
        #expect(cache.pull(hash: "h1", since: 5) == nil && cache.token(hash: "h1") == nil, "the history went back")
    }

    @Test func aReadThatBeganBeforeAnEventIsNotKept() {
        let cache = InstanceCache()
        cache.confirm(sentAt: .now)
        let began = cache.mark()
        cache.apply(.revoked(tokenHash: "h1"))
        cache.fill(hash: "h1", token: lookup, head: head, read: began)
        #expect(cache.token(hash: "h1") == nil)
        #expect(cache.pull(hash: "h1", since: 7) == nil)
    }

    @Test func eventsDropWhatTheyContradict() {
        let cache = trusted()
        cache.apply(.head(LogHead(seq: 8, hash: "b")))
        #expect(cache.pull(hash: "h1", since: 8)?.1.seq == 8)
        cache.apply(.head(LogHead(seq: 5, hash: "c")))
        #expect(cache.pull(hash: "h1", since: 8)?.1.seq == 8, "heads only move on")
        cache.apply(.deleted(records: ["org-2"]))
        #expect(cache.token(hash: "h1") != nil, "another organisation's removal")
        cache.apply(.deleted(records: ["org-1"]))
        #expect(cache.token(hash: "h1") == nil, "its organisation's removal")

        let schema = trusted()
        schema.apply(.schema)
        #expect(schema.pull(hash: "h1", since: 7) == nil && schema.token(hash: "h1") == nil)
        schema.fill(hash: "h1", token: lookup, head: head, read: schema.mark())
        schema.apply(.head(LogHead(seq: 9, hash: "d")))
        #expect(schema.pull(hash: "h1", since: 9) != nil, "a read after the schema event trusts heads again")

        let lost = trusted()
        lost.lose()
        #expect(lost.token(hash: "h1") == nil)
        lost.confirm(sentAt: .now)
        #expect(lost.token(hash: "h1") == nil, "nothing kept across a loss")
    }

    @Test func aRevokedOrDeadTokenIsNeverKept() {
        let cache = InstanceCache()
        cache.confirm(sentAt: .now)
        var revoked = lookup
        revoked.row.revokedAt = "2026-01-02T00:00:00Z"
        cache.fill(hash: "h1", token: revoked, head: head, read: cache.mark())
        var removed = lookup
        removed.organisationRecord?.isDeleted = true
        cache.fill(hash: "h2", token: removed, head: head, read: cache.mark())
        #expect(cache.token(hash: "h1") == nil && cache.token(hash: "h2") == nil)
    }
}
