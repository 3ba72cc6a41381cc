import Foundation
import TandemProtocol
import TandemServer
import TandemTesting
import Testing

/// The history (SPEC §8): gap-free seqs, each entry chained on the one before, device keys
/// registered as entries, the signed head, and `verify` — which passes on a sound store and
/// names the first bad seq of a tampered one.
@Suite struct StoreSuiteHistoryTests {
    /// A bench with some history: an exchange, edits, a rejection and a conflict.
    func busyBench(_ kind: StoreKind) async throws -> StoreBench {
        let bench = try await StoreBench(kind)
        let (_, exchange) = try await bench.anaOnAnExchange()
        try await bench.expect(
            [.applied, .rejected],
            [
                bench.update("exchange", exchange, base: 1, ["goals": .string("learn")]),
                bench.update("exchange", exchange, base: 1, ["ends_on": .string("2026-01-01")]),
            ], by: bench.member(bench.ministry))
        try await bench.expect(
            [.conflict], [bench.update("exchange", exchange, base: 1, ["goals": .string("teach")], offset: -10)],
            by: bench.member(bench.company))
        for number in 2...4 {
            try await bench.expect(
                [.applied], [bench.insert("round", bench.newID(), ["number": .int(Int64(number))])],
                by: bench.coordinator)
        }
        return bench
    }

    // MARK: - The chain

    @Test(arguments: StoreKind.allCases)
    func seqsAreGapFreeAndEachEntryChainsOnTheOneBefore(kind: StoreKind) async throws {
        let bench = try await busyBench(kind)
        let head = try await bench.store.headSeq()
        let lines = try await bench.store.history(since: 0, limit: 100_000)
        #expect(lines.map(\.seq) == Array(1...head))
        let entries = try lines.map { try $0.entry }
        #expect(entries.map(\.seq) == lines.map(\.seq), "each line's seq is its entry's")
        #expect(entries.first?.prevHash == LogEntry.genesisHash)
        for (previous, next) in zip(entries, entries.dropFirst()) {
            #expect(next.prevHash == previous.hash, "seq \(next.seq)")
        }
        for entry in entries {
            #expect(LogEntry.hash(prevHash: entry.prevHash, unhashed: entry.unhashedJSON) == entry.hash)
        }
        // The lines are the entries' RFC 8785 text, and an auditor's verifier takes them all.
        #expect(zip(lines, entries).allSatisfy { $0.line == $1.line })
        var verifier = ChainVerifier()
        for line in lines {
            if let check = try verifier.append(line: Array(line.line.utf8)) { #expect(check.run() == nil) }
        }
        #expect(verifier.seq == head)
    }

    @Test(arguments: StoreKind.allCases)
    func historyPagesBySinceAndLimit(kind: StoreKind) async throws {
        let bench = try await busyBench(kind)
        let whole = try await bench.store.history(since: 0, limit: 100_000)
        var paged: [HistoryLine] = []
        var since: Int64 = 0
        while true {
            let page = try await bench.store.history(since: since, limit: 3)
            #expect(page.count <= 3)
            guard let last = page.last else { break }
            paged += page
            since = last.seq
        }
        #expect(paged == whole)
        #expect(try await bench.store.history(since: try #require(whole.last).seq, limit: 10).isEmpty)
    }

    @Test(arguments: StoreKind.allCases)
    func eachPushResultIsItsEntry(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let (ministry, company) = (bench.member(bench.ministry), bench.member(bench.company))
        let (_, exchange) = try await bench.anaOnAnExchange()
        let changes = [
            bench.update("exchange", exchange, base: 1, ["goals": .string("learn")]),
            bench.update("exchange", exchange, base: 1, ["ends_on": .string("2026-01-01")]),
        ]
        let results = try await bench.push(changes, by: ministry)
        let late = bench.update("exchange", exchange, base: 1, ["notes": .string("n")])
        let merged = try await bench.push([late], by: company)
        let pushed = zip(changes + [late], results + merged)
        for ((change, result), principal) in zip(pushed, [ministry, ministry, company]) {
            let entry = try await bench.entry(at: try #require(result.seq))
            #expect(entry.change["change_id"] == .string(change.changeID))
            #expect(entry.author == principal.author(device: bench.deviceID("d", for: principal)))
            let outcome = try entry.parsedOutcome
            #expect(outcome.status == result.status && outcome.version == result.version)
            #expect(outcome.reason == result.reason)
            // The change as pushed, with its signature.
            let logged = try Change(json: entry.change)
            #expect(logged.fields == change.fields && logged.signature != nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theCheckpointSignsTheHead(kind: StoreKind) async throws {
        let bench = try await busyBench(kind)
        let checkpoint = try await bench.store.checkpoint(now: bench.now)
        let lines = try await bench.store.history(since: 0, limit: 100_000)
        let head = try #require(lines.last).entry
        #expect(checkpoint.seq == head.seq && checkpoint.hash == head.hash)
        #expect(checkpoint.isSignatureValid)
        var verifier = ChainVerifier()
        var hashes: [Int64: String] = [:]
        for line in lines {
            _ = try verifier.append(line: Array(line.line.utf8))
            hashes[line.seq] = verifier.hash
        }
        #expect(checkpoint.publicKey == verifier.serverKey, "signed by the key entry 1 registers")
        #expect(verifier.check(checkpoint) { hashes[$0] } == nil)
        // Asked again with nothing new, the same checkpoint.
        #expect(try await bench.store.checkpoint(now: bench.now + 1000) == checkpoint)
    }

    // MARK: - Devices

    @Test(arguments: StoreKind.allCases)
    func aDeviceIsRegisteredOnceAsAnEntry(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let ministry = bench.member(bench.ministry)
        let head = try await bench.store.headSeq()
        let key = SigningKey()
        let first = try await bench.store.registerDevice(
            "ministry-laptop", publicKey: key.publicKey, by: ministry, now: bench.now)
        #expect(first.device == "ministry-laptop" && first.publicKey == key.publicKey)
        #expect(first.organisation == bench.ministry && first.seq == head + 1)
        let entry = try await bench.entry(at: head + 1)
        #expect(entry.change["table"] == .string(DeviceRegistry.table))
        #expect(entry.change["record_id"] == .string("ministry-laptop"))
        #expect(entry.author.organisation == bench.ministry && entry.author.device == DeviceRegistry.serverDevice)
        // The same again returns the first registration and logs nothing.
        let again = try await bench.store.registerDevice(
            "ministry-laptop", publicKey: key.publicKey, by: ministry, now: bench.now)
        #expect(again == first)
        #expect(try await bench.store.headSeq() == head + 1)
        // Replicas never pull registrations.
        #expect(!(try await bench.pullAll(bench.coordinator)).items.contains { $0.recordID == "ministry-laptop" })
        // A change signed by it applies.
        let change = bench.update("organisation", bench.ministry, base: 1, ["web": .string("https://gov.example")])
        var signed = change
        signed.device = "ministry-laptop"
        let results = try await bench.store.push([signed.signed(with: key)], by: ministry, now: bench.now)
        #expect(results.map(\.status) == [.applied])
    }

    @Test(arguments: StoreKind.allCases)
    func aDeviceIdTakenOrMalformedIsRefused(kind: StoreKind) async throws {
        let bench = try await StoreBench(kind)
        let store = bench.store
        let (ministry, company) = (bench.member(bench.ministry), bench.member(bench.company))
        let key = SigningKey()
        _ = try await store.registerDevice("laptop-1", publicKey: key.publicKey, by: ministry, now: bench.now)
        let head = try await store.headSeq()
        func refusal(
            _ device: String, _ publicKey: String, by principal: Principal
        ) async -> ServerError? {
            await #expect(throws: ServerError.self) {
                try await store.registerDevice(device, publicKey: publicKey, by: principal, now: bench.now)
            }
        }
        let anotherKey = await refusal("laptop-1", SigningKey().publicKey, by: ministry)
        #expect(anotherKey?.code == .deviceExists)
        let anotherOrganisation = await refusal("laptop-1", key.publicKey, by: company)
        #expect(anotherOrganisation?.code == .deviceExists)
        let auditor = await refusal("audit-desk", SigningKey().publicKey, by: bench.auditor)
        #expect(auditor?.code == .forbidden)
        let badID = await refusal("no spaces please", SigningKey().publicKey, by: ministry)
        #expect(badID?.code == .badDevice)
        let serverID = await refusal(DeviceRegistry.serverDevice, SigningKey().publicKey, by: ministry)
        #expect(serverID?.code == .badDevice)
        let badKey = await refusal("laptop-2", "bm90IGEga2V5", by: ministry)
        #expect(badKey?.code == .badPublicKey)
        #expect(try await store.headSeq() == head, "nothing logged")
    }

    // MARK: - Verify and tampering

    @Test(arguments: StoreKind.allCases)
    func aSoundStoreVerifies(kind: StoreKind) async throws {
        let bench = try await busyBench(kind)
        _ = try await bench.store.checkpoint(now: bench.now)
        let report = try await bench.store.verify()
        #expect(report.failure == nil)
        let head = try await bench.store.headSeq()
        #expect(report.entries == head && report.headSeq == head)
        #expect(report.headHash == (try await bench.entry(at: head)).hash)
        #expect(report.checkpoints >= 1)
    }

    @Test(arguments: StoreKind.allCases)
    func aFieldChangedInOneEntryIsNamed(kind: StoreKind) async throws {
        let bench = try await busyBench(kind)
        let seq = try #require(try await bench.record(bench.round)?.seq)
        let line = try await bench.entry(at: seq).line
        #expect(line.contains(#""number":1"#))
        try await bench.subject.tamper(
            .rewrite([seq: line.replacingOccurrences(of: #""number":1"#, with: #""number":10"#)]))
        #expect(try await bench.entry(at: seq).change["fields"]?["number"] == .int(10), "the store serves the forgery")
        let failure = try #require(try await bench.store.verify().failure)
        #expect(failure.seq == seq, "\(failure)")
    }

    @Test(arguments: StoreKind.allCases)
    func twoSwappedEntriesAreNamedAtTheFirst(kind: StoreKind) async throws {
        let bench = try await busyBench(kind)
        let head = try await bench.store.headSeq()
        let (first, second) = (head - 2, head)
        let lines = (try await bench.entry(at: first).line, try await bench.entry(at: second).line)
        try await bench.subject.tamper(.rewrite([first: lines.1, second: lines.0]))
        let failure = try #require(try await bench.store.verify().failure)
        #expect(failure.seq == first, "\(failure)")
    }

    @Test(arguments: StoreKind.allCases)
    func aMissingEntryIsNamed(kind: StoreKind) async throws {
        let bench = try await busyBench(kind)
        let head = try await bench.store.headSeq()
        try await bench.subject.tamper(.remove((head - 3)...(head - 3)))
        let failure = try #require(try await bench.store.verify().failure)
        #expect(failure.seq == head - 3, "\(failure)")
    }

    @Test(arguments: StoreKind.allCases)
    func aTruncatedHistoryIsNamedAtTheFirstMissingSeqOfTheCheckpoint(kind: StoreKind) async throws {
        let bench = try await busyBench(kind)
        let checkpoint = try await bench.store.checkpoint(now: bench.now)
        let head = try await bench.store.headSeq()
        #expect(checkpoint.seq == head)
        try await bench.subject.tamper(.remove((head - 1)...head))
        #expect(try await bench.store.headSeq() == head - 2, "the store serves the shorter history")
        let failure = try #require(try await bench.store.verify().failure)
        #expect(failure.seq == head - 1, "\(failure)")
    }

    /// The forger rewrites a member's edit and recomputes the chain from there on: only the
    /// device's signature can tell.
    @Test(arguments: StoreKind.allCases)
    func aRechainedForgeryIsNamedByItsSignature(kind: StoreKind) async throws {
        let (bench, seq) = try await memberEdit(kind, thenRounds: 9..<10)
        let head = try await bench.store.headSeq()
        try await bench.subject.tamper(.rewrite(try await Self.forgery(in: bench, at: seq, rechainedThrough: head)))
        let failure = try #require(try await bench.store.verify().failure)
        #expect(failure.seq == seq, "\(failure)")
        #expect(failure.problem.contains("signature"), "\(failure)")
    }

    /// Verify checks the signatures in chunks on other cores while it reads on: a forged one in
    /// an early chunk is named though the reading stopped later, at a broken chain, while that
    /// chunk was still out.
    @Test(arguments: StoreKind.allCases)
    func aForgeryInAnEarlyChunkIsNamedBeforeALaterBreak(kind: StoreKind) async throws {
        // More than two chunks of signatures (HistoryVerification's chunkSize is 256) after it.
        let (bench, seq) = try await memberEdit(kind, thenRounds: 10..<610)
        let head = try await bench.store.headSeq()
        #expect(head - seq >= 600)
        // The head is left as it was: its prev_hash no longer matches, the chain breaks there.
        try await bench.subject.tamper(.rewrite(try await Self.forgery(in: bench, at: seq, rechainedThrough: head - 1)))
        let failure = try #require(try await bench.store.verify().failure)
        #expect(failure.seq == seq, "\(failure)")
        #expect(failure.problem.contains("signature"), "\(failure)")
    }

    /// A busy bench, then the ministry's edit of its web address (at the seq returned), then
    /// rounds numbered `numbers` inserted by the coordinator.
    func memberEdit(_ kind: StoreKind, thenRounds numbers: Range<Int>) async throws -> (StoreBench, Int64) {
        let bench = try await busyBench(kind)
        let results = try await bench.expect(
            [.applied],
            [bench.update("organisation", bench.ministry, base: 1, ["web": .string("https://gov.example")])],
            by: bench.member(bench.ministry))
        let rounds = numbers.map { bench.insert("round", bench.newID(), ["number": .int(Int64($0))]) }
        try await bench.expect(Array(repeating: .applied, count: rounds.count), rounds, by: bench.coordinator)
        return (bench, try #require(results.first?.seq))
    }

    /// The lines of a forgery: entry `seq`'s organisation change given another web address (its
    /// signature no longer verifies), every entry from it through `last` chained again on it.
    static func forgery(in bench: StoreBench, at seq: Int64, rechainedThrough last: Int64) async throws
        -> [Int64: String]
    {
        var forged: [Int64: String] = [:]
        var previous = try await bench.entry(at: seq - 1).hash
        for at in seq...last {
            let entry = try await bench.entry(at: at)
            var change = try Change(json: entry.change)
            if at == seq { change.fields = ["web": .string("https://forged.example")] }
            let rewritten = LogEntry(
                seq: at, time: entry.time, author: entry.author, change: change.json, outcome: entry.outcome,
                prevHash: previous)
            forged[at] = rewritten.line
            previous = rewritten.hash
        }
        return forged
    }
}
