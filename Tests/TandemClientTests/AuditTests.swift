import Foundation
import GRDB
import TandemClient
import TandemProtocol
import Testing

/// `tandem audit pull`, `verify` and `export` against a history served by hand: what an auditor
/// sees when the server is honest, when it rewrites or truncates its history, and when the local
/// copy is tampered with.
@Suite struct AuditTests {
    static let ministry = Author(organisation: "0193a1b2-0000-7000-8000-000000000001", role: .member, device: "laptop")
    static let round = "0196b000-0000-7000-8000-000000000001"

    /// Entry 1 (the server's key), entry 2 (the ministry's laptop), then a round inserted and
    /// edited three times by the laptop: seqs 3–6.
    static func honest() -> (history: SignedHistory, laptop: SigningKey) {
        var history = SignedHistory()
        let laptop = SigningKey()
        history.registerDevice("laptop", key: laptop, for: ministry)
        history.log(
            .insert, "round", round, ["number": .int(5)], by: ministry, key: laptop,
            outcome: Outcome(status: .applied, version: 1, applied: ["number", "status"]))
        for (index, title) in ["Spring", "Summer", "Autumn"].enumerated() {
            history.log(
                .update, "round", round, ["title": .string(title)], base: Int64(index + 1), by: ministry, key: laptop,
                outcome: Outcome(status: .applied, version: Int64(index + 2), applied: ["title"]))
        }
        return (history, laptop)
    }

    private func auditor(_ server: HistoryServer, pageSize: Int = 2) throws -> (Replica, AuditEngine) {
        let replica = try Replica.create(in: try DatabaseQueue())
        var engine = AuditEngine(replica: replica, transport: server)
        engine.pageSize = pageSize
        return (replica, engine)
    }

    private func lines(_ replica: Replica) throws -> [String] {
        try replica.withDatabase { db in
            try String.fetchAll(db, sql: "SELECT line FROM tandem_audit_entry ORDER BY seq")
        }
    }

    /// While a page is written, the next one is already asked for: after each page is stored,
    /// the request for the one after it has been sent (or is sent within a second).
    @Test func theNextPageIsFetchedWhileAPageIsWritten() throws {
        let (history, _) = Self.honest()
        let server = HistoryServer(history)
        let (replica, engine) = try auditor(server)
        var aheadOfWriting: [Bool] = []
        let summary = try engine.pull { _, seq in
            let deadline = Date().addingTimeInterval(1)
            func sent() -> Bool { server.sentRequests.contains { $0.contains("/v1/history?since=\(seq)&") } }
            while !sent(), Date() < deadline { Thread.sleep(forTimeInterval: 0.001) }
            aheadOfWriting.append(sent())
        }
        #expect(summary.pulled == 6)
        #expect(aheadOfWriting == [true, true, true], "\(server.requests)")
        #expect(try lines(replica) == history.lines)
        #expect(server.requests.filter { $0.contains("/v1/history") }.count == 4, "one request a page, one more")
    }

    @Test func anHonestHistoryIsPulledInPagesAndVerifies() throws {
        var (history, laptop) = Self.honest()
        let server = HistoryServer(history)
        let (replica, engine) = try auditor(server)
        var progress: [Int64] = []
        let summary = try engine.pull { _, seq in progress.append(seq) }
        #expect(summary.description == "pulled 6 entries (seq 1–6), checkpoint seq 6")
        #expect(progress == [2, 4, 6])
        #expect(try lines(replica) == history.lines, "stored verbatim")
        let verification = try replica.audit.verify()
        #expect(verification.failure == nil)
        #expect(verification.summary == "ok: 6 entries, head seq 6 \(history.head.hash), 1 checkpoint verified")

        // Incremental: only what is new is asked for and stored.
        history.log(
            .delete, "round", Self.round, base: 4, by: Self.ministry, key: laptop,
            outcome: Outcome(status: .applied, version: 5))
        server.serve(history)
        let asked = server.requests.count
        let again = try engine.pull()
        #expect(again.description == "pulled 1 entry (seq 7–7), checkpoint seq 7")
        // The checkpoint kept is presented first (a server that went back learns it: docs/operations.md).
        let requests = Array(server.requests.dropFirst(asked))
        #expect(requests.dropFirst() == ["GET /v1/checkpoint", "GET /v1/history?since=6&limit=2&values=true"])
        #expect(requests.first?.hasPrefix("GET /v1/checkpoint?seq=6&hash=\(history.entries[5].hash)&time=") == true)
        #expect(try replica.audit.verify().summary.hasPrefix("ok: 7 entries, head seq 7"))
        #expect(try replica.audit.verify().checkpoints == 2)
        #expect(try engine.pull().description == "pulled 0 entries (up to date at seq 7), checkpoint seq 7")
    }

    @Test func exportPrintsTheLinesVerbatimOrAsCSV() throws {
        let (history, _) = Self.honest()
        let (replica, engine) = try auditor(HistoryServer(history))
        _ = try engine.pull()
        var ndjson = ""
        #expect(try replica.audit.export(as: .ndjson) { ndjson += $0 } == 6)
        #expect(ndjson == history.lines.map { $0 + "\n" }.joined())
        var csv = ""
        try replica.audit.export(as: .csv) { csv += $0 }
        let rows = csv.split(separator: "\n").map(String.init)
        #expect(rows.first == "seq,time,organisation,role,device,table,record_id,op,status,version,reason,hash")
        #expect(rows.count == 7)
        let third = history.entries[2]
        #expect(
            rows[3]
                == "3,\(third.time),\(Self.ministry.organisation!),member,laptop,round,\(Self.round),insert,applied,1,,"
                + third.hash)
    }

    @Test func aHistoryThatDoesNotExtendWhatIsHeldIsRefusedAndNothingIsKept() throws {
        let (history, laptop) = Self.honest()
        let server = HistoryServer(history)
        let (replica, engine) = try auditor(server, pageSize: 100)
        _ = try engine.pull()
        // The server rewrites entry 5 and everything after it, and adds an entry.
        var rewritten = SignedHistory.rewriting(history, from: 5) { history in
            history.log(
                .update, "round", Self.round, ["title": .string("Winter")], base: 3, by: Self.ministry, key: laptop,
                outcome: Outcome(status: .applied, version: 4, applied: ["title"]))
            history.log(
                .update, "round", Self.round, ["title": .string("Autumn")], base: 4, by: Self.ministry, key: laptop,
                outcome: Outcome(status: .applied, version: 5, applied: ["title"]))
        }
        rewritten.log(
            .delete, "round", Self.round, base: 5, by: Self.ministry, key: laptop,
            outcome: Outcome(status: .applied, version: 6))
        server.serve(rewritten)
        let error = #expect(throws: ReplicaError.self) { try engine.pull() }
        #expect(error?.code == .invalidData)
        #expect(error?.message.hasPrefix("history does not extend what this replica holds at seq 7") == true)
        #expect(try replica.audit.entryCount() == 6, "nothing of that page was kept")
        #expect(try replica.audit.verify().failure == nil)
    }

    @Test func aTruncatedHistoryOrAForeignCheckpointIsRefused() throws {
        let (history, _) = Self.honest()
        let server = HistoryServer(history)
        let (replica, engine) = try auditor(server)
        _ = try engine.pull()
        server.serve(Array(history.lines.prefix(4)), checkpoint: history.checkpoint(at: 4))
        let truncated = #expect(throws: ReplicaError.self) { try engine.pull() }
        #expect(truncated?.message.contains("truncated") == true)

        server.serve(history.lines, checkpoint: history.checkpoint(at: 6, key: SigningKey()))
        let foreign = #expect(throws: ReplicaError.self) { try engine.pull() }
        #expect(foreign?.message.contains("not the server's") == true)

        var forged = history.checkpoint(at: 6)
        forged.hash = history.entries[4].hash
        server.serve(history.lines, checkpoint: forged)
        let unsigned = #expect(throws: ReplicaError.self) { try engine.pull() }
        #expect(unsigned?.message.contains("valid signature") == true)
        #expect(try replica.audit.verify().checkpoints == 1)
    }

    @Test func aMembersPullIsNotPermitted() throws {
        let server = HistoryServer(Self.honest().history)
        server.refusal = 403
        let (replica, engine) = try auditor(server)
        let error = #expect(throws: ReplicaError.self) { try engine.pull() }
        #expect(error?.code == .notPermitted)
        #expect(try replica.audit.entryCount() == 0)
    }

    @Test func verifyNamesATamperedLine() throws {
        let (history, _) = Self.honest()
        let (replica, engine) = try auditor(HistoryServer(history))
        _ = try engine.pull()
        try replica.withDatabase { db in
            try db.execute(sql: "UPDATE tandem_audit_entry SET line = replace(line, 'Summer', 'Winter') WHERE seq = 5")
        }
        let failure = try #require(try replica.audit.verify().failure)
        #expect(failure.seq == 5)
        #expect(failure.description == "seq 5: the hash does not match the entry's contents (altered)")
    }

    @Test func verifyNamesTheLowestBadSeqOfSignatureAndChainFailures() throws {
        // A server that forged entry 4 (signed with a key that is not the laptop's, hashes intact),
        // and a local copy whose entry 6 was altered: seq 4 comes first, whatever the batches.
        var history = SignedHistory()
        let laptop = SigningKey()
        history.registerDevice("laptop", key: laptop, for: Self.ministry)
        history.log(
            .insert, "round", Self.round, ["number": .int(5)], by: Self.ministry, key: laptop,
            outcome: Outcome(status: .applied, version: 1, applied: ["number", "status"]))
        history.log(
            .update, "round", Self.round, ["title": .string("Forged")], base: 1, by: Self.ministry, key: SigningKey(),
            outcome: Outcome(status: .applied, version: 2, applied: ["title"]))
        history.log(
            .update, "round", Self.round, ["title": .string("Real")], base: 2, by: Self.ministry, key: laptop,
            outcome: Outcome(status: .applied, version: 3, applied: ["title"]))
        history.log(
            .update, "round", Self.round, ["title": .string("Later")], base: 3, by: Self.ministry, key: laptop,
            outcome: Outcome(status: .applied, version: 4, applied: ["title"]))
        let (replica, engine) = try auditor(HistoryServer(history))
        _ = try engine.pull()
        #expect(try replica.audit.verify().failure?.seq == 4)
        try replica.withDatabase { db in
            try db.execute(sql: "UPDATE tandem_audit_entry SET line = replace(line, 'Later', 'Never') WHERE seq = 6")
        }
        for batch in [1, 2, 4096] {
            let failure = try replica.audit.verify(batchSize: batch).failure
            #expect(failure?.seq == 4, "batch \(batch)")
            #expect(failure?.problem.contains("signature does not verify") == true)
        }
    }

    @Test func verifySplitsAnyNumberOfSignaturesAcrossTheCores() throws {
        var (history, laptop) = Self.honest()
        let server = HistoryServer(history)
        let (replica, _) = try auditor(server, pageSize: 1000)
        for version in 5...40 {
            history.log(
                .update, "round", Self.round, ["title": .string("v\(version)")], base: Int64(version - 1),
                by: Self.ministry, key: laptop,
                outcome: Outcome(status: .applied, version: Int64(version), applied: ["title"]))
            server.serve(history)
            _ = try AuditEngine(replica: replica, transport: server).pull()
            // 4 to 41 checks, split in chunks over the cores whatever their number.
            for batch in [3, 4096] {
                let verification = try replica.audit.verify(batchSize: batch)
                #expect(verification.failure == nil && verification.entries == Int64(history.entries.count))
            }
        }
    }

    @Test func verifyWithNothingPulledIsNotFound() throws {
        let replica = try Replica.create(in: try DatabaseQueue())
        let error = #expect(throws: ReplicaError.self) { try replica.audit.verify() }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("tandem audit pull") == true)
        #expect(throws: ReplicaError.self) { try replica.audit.export(as: .ndjson) { _ in } }
    }
}

extension SignedHistory {
    /// The same history up to `seq - 1`, then what `rest` logs.
    static func rewriting(_ history: SignedHistory, from seq: Int, _ rest: (inout SignedHistory) -> Void)
        -> SignedHistory
    {
        var copy = history
        copy.truncate(to: seq - 1)
        rest(&copy)
        return copy
    }
}
