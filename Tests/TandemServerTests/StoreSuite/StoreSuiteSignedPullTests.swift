import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// `GET /v1/pull`'s read (``ServerStore/signedPullPage(_:since:limit:now:)``): the token, the page
/// and the head's hash in one read, the head's signature shared by the pulls of one second
/// (``SignedCheckpoints``) — and still every answer true: a revoked token refused at once, on
/// every instance, and every checkpoint a signed statement of the entry the history holds.
@Suite struct StoreSuiteSignedPullTests {
    @Test(arguments: StoreKind.allCases)
    func aPullByTokenIsRefusedOnceTheTokenIsRevokedThroughAnyInstance(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let other = try await bench.subject.another()
        let token = try #require(bench.tokens[bench.town])
        let pulled = try #require(
            try await bench.store.signedPullPage(.token(token), since: 0, limit: 1000, now: bench.now))
        #expect(pulled.principal == bench.member(bench.town))
        #expect(try await bench.store.signedPullPage(.token(token), since: 0, limit: 1000, now: bench.now) != nil)
        #expect(try await other.revoke(token: token, now: bench.now))
        #expect(try await bench.store.signedPullPage(.token(token), since: 0, limit: 1000, now: bench.now) == nil)
        #expect(try await other.signedPullPage(.token(token), since: 0, limit: 1000, now: bench.now) == nil)
        let unknown = "tdm_" + String(repeating: "0", count: 48)
        #expect(try await bench.store.signedPullPage(.token(unknown), since: 0, limit: 1000, now: bench.now) == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func aPullByTokenReadsWhatItsPrincipalMaySee(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        try await bench.push(
            [bench.insert("person", bench.newID(), bench.personFields(bench.ministry, "Ana"))],
            by: bench.member(bench.ministry))
        for organisation in [bench.ministry, bench.town] {
            let token = try #require(bench.tokens[organisation])
            let byToken = try #require(
                try await bench.store.signedPullPage(.token(token), since: 0, limit: 1000, now: bench.now))
            let byPrincipal = try #require(
                try await bench.store.signedPullPage(
                    .principal(bench.member(organisation)), since: 0, limit: 1000, now: bench.now))
            #expect(byToken.page.items == byPrincipal.page.items && byToken.page.next == byPrincipal.page.next)
            #expect(byToken.checkpoint == byPrincipal.checkpoint)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func everyPullsCheckpointIsTheEntryItReachesWithinOneSecondAndOnEveryInstance(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let other = try await bench.subject.another()
        let member = bench.member(bench.ministry)
        // The clock stands still: every pull below is "in the same second".
        let first = try #require(
            try await bench.store.signedPullPage(.principal(member), since: 0, limit: 1000, now: bench.now))
        try await expectHeld(first, in: bench.store)
        for number in 0..<3 {
            let pusher = number % 2 == 0 ? other : bench.store
            let results = try await pusher.pushSigned(
                [bench.insert("person", bench.newID(), bench.personFields(bench.ministry, "P\(number)"))],
                by: member, now: bench.now)
            #expect(results.map(\.status) == [.applied])
            for store in [bench.store, other] {
                let pulled = try #require(
                    try await store.signedPullPage(
                        .principal(member), since: first.page.next, limit: 1000, now: bench.now))
                #expect(pulled.checkpoint?.seq == results.first?.seq, "the new head, not the one signed before")
                try await expectHeld(pulled, in: store)
            }
        }
        // A page cut before the head is signed at the entry it reaches.
        let cut = try #require(
            try await bench.store.signedPullPage(.principal(bench.coordinator), since: 0, limit: 2, now: bench.now))
        #expect(cut.page.more && cut.checkpoint?.seq == cut.page.next)
        try await expectHeld(cut, in: bench.store)
    }

    /// The page's checkpoint is signed by the server's key and names the hash the history holds at its seq.
    private func expectHeld(_ pulled: SignedPullPage, in store: any ServerStore) async throws {
        let checkpoint = try #require(pulled.checkpoint)
        #expect(checkpoint.seq == pulled.page.next)
        #expect(checkpoint.isSignatureValid)
        let line = try #require(try await store.history(since: checkpoint.seq - 1, limit: 1).first)
        #expect(line.seq == checkpoint.seq)
        #expect(try line.entry.hash == checkpoint.hash)
    }
}

/// ``SignedCheckpoints`` on its own: a signature is shared only for the same seq and hash, within its second.
@Suite struct SignedCheckpointsTests {
    let key = SigningKey()
    let hash = String(repeating: "a", count: 64)
    let other = String(repeating: "b", count: 64)

    @Test func theSameEntryWithinASecondSharesOneSignature() {
        let cache = SignedCheckpoints()
        let first = cache.checkpoint(seq: 7, hash: hash, now: 1_000, signedBy: key)
        #expect(first.isSignatureValid && first.time == Timestamp.string(milliseconds: 1_000))
        #expect(cache.checkpoint(seq: 7, hash: hash, now: 1_999, signedBy: key) == first)
        let later = cache.checkpoint(seq: 7, hash: hash, now: 2_000, signedBy: key)
        #expect(later.time == Timestamp.string(milliseconds: 2_000) && later.isSignatureValid)
    }

    @Test func anotherHashAtTheSameSeqIsSignedAfresh() {
        // What another instance's history holds after the store went back and grew again.
        let cache = SignedCheckpoints()
        _ = cache.checkpoint(seq: 7, hash: hash, now: 1_000, signedBy: key)
        let again = cache.checkpoint(seq: 7, hash: other, now: 1_001, signedBy: key)
        #expect(again.hash == other && again.isSignatureValid)
        let otherKey = SigningKey()
        let byOtherKey = cache.checkpoint(seq: 7, hash: other, now: 1_002, signedBy: otherKey)
        #expect(byOtherKey.publicKey == otherKey.publicKey && byOtherKey.isSignatureValid)
    }

    @Test func itKeepsFewCheckpoints() {
        let cache = SignedCheckpoints()
        for seq in 1...1000 { _ = cache.checkpoint(seq: Int64(seq), hash: hash, now: 1_000, signedBy: key) }
        // Whatever it dropped, every answer is still the entry asked for.
        let answer = cache.checkpoint(seq: 3, hash: other, now: 1_000, signedBy: key)
        #expect(answer.seq == 3 && answer.hash == other && answer.isSignatureValid)
    }
}
