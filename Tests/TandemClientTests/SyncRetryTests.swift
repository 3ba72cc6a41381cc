import Foundation
import TandemClient
import TandemProtocol
import Testing

/// A 429 is waited out (`Retry-After`, capped) and retried a few times before it is an error.
@Suite struct SyncRetryTests {
    /// Answers 429 (with `Retry-After`) to the first `busy` requests, then passes them on; as the
    /// real server's rate limits, it leaves `/healthz` alone (the push asks it for the server's clock).
    final class BusyTransport: SyncTransport, @unchecked Sendable {
        let base: any SyncTransport
        let retryAfter: String?
        private let lock = NSLock()
        private var busy: Int
        private(set) var refused: [String] = []

        init(_ base: any SyncTransport, busy: Int, retryAfter: String? = "2") {
            self.base = base
            self.busy = busy
            self.retryAfter = retryAfter
        }

        func send(_ request: TransportRequest) throws -> TransportResponse {
            let isBusy = lock.withLock {
                guard busy > 0, request.path != "/healthz" else { return false }
                busy -= 1
                refused.append(request.line)
                return true
            }
            guard isBusy else { return try base.send(request) }
            let body = ErrorBody(error: "rate_limited", message: "too many requests").json.serialized()
            return TransportResponse(
                status: 429, headers: retryAfter.map { ["retry-after": $0] } ?? [:], body: Array(body.utf8))
        }
    }

    /// A policy that records its waits and notices instead of sleeping.
    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var waits: [Double] = []
        private(set) var notices: [String] = []

        var policy: SyncAPI.RetryPolicy {
            var policy = SyncAPI.RetryPolicy()
            policy.sleep = { seconds in self.lock.withLock { self.waits.append(seconds) } }
            policy.notice = { line in self.lock.withLock { self.notices.append(line) } }
            return policy
        }
    }

    @Test func theEngineWaitsRetryAfterAndSucceeds() throws {
        let world = SyncWorld()
        let (replica, plain) = try world.replica()
        try plain.registerDevice()  // so that the push is the first request the busy transport sees
        try replica.editor.insert(into: "round", [.init("number", "5")])
        let busy = BusyTransport(world.server.transport(as: SyncWorld.coordinator), busy: 2, retryAfter: "2")
        let recorder = Recorder()
        let engine = SyncEngine(replica: replica, transport: busy, retry: recorder.policy)
        let summary = try engine.sync()
        #expect(summary.pushed == 1 && summary.rejected.isEmpty)
        #expect(try replica.status().pending == 0)
        #expect(busy.refused == ["POST /v1/push", "POST /v1/push"])
        #expect(recorder.waits == [2, 2])
        #expect(recorder.notices.count == 2)
        #expect(recorder.notices.first?.contains("retrying POST /v1/push in 2 s (1 of 3)") == true)
        #expect(world.server.log.count == 1)
    }

    @Test func theWaitIsCappedAndDefaultsWhenRetryAfterIsMissing() throws {
        let world = SyncWorld()
        let (replica, _) = try world.replica()
        let recorder = Recorder()
        var policy = recorder.policy
        policy.maximumWait = 30
        let long = BusyTransport(world.server.transport(as: SyncWorld.coordinator), busy: 1, retryAfter: "3600")
        _ = try SyncEngine(replica: replica, transport: long, retry: policy).pull()
        let missing = BusyTransport(world.server.transport(as: SyncWorld.coordinator), busy: 1, retryAfter: nil)
        _ = try SyncEngine(replica: replica, transport: missing, retry: policy).pull()
        #expect(recorder.waits == [30, 1])
    }

    @Test func a429ThatOutlastsTheRetriesIsTemporary() throws {
        let world = SyncWorld()
        let (replica, plain) = try world.replica()
        try plain.registerDevice()  // so that the push is the first request the busy transport sees
        try replica.editor.insert(into: "round", [.init("number", "5")])
        let busy = BusyTransport(world.server.transport(as: SyncWorld.coordinator), busy: 100)
        let recorder = Recorder()
        let engine = SyncEngine(replica: replica, transport: busy, retry: recorder.policy)
        #expect(throws: ReplicaError.self) { try engine.sync() }
        do {
            _ = try engine.sync()
        } catch {
            #expect(error.code == .temporary)
            #expect(error.message.contains("rate-limiting"))
        }
        #expect(busy.refused.count == 8)  // 1 + 3 retries, twice
        #expect(try replica.status().pending == 1)
        #expect(world.server.log.isEmpty)
    }

    @Test func noRetryPolicyFailsAtOnce() throws {
        let world = SyncWorld()
        let (replica, _) = try world.replica()
        let busy = BusyTransport(world.server.transport(as: SyncWorld.coordinator), busy: 1)
        #expect(throws: ReplicaError.self) { try SyncEngine(replica: replica, transport: busy, retry: .none).pull() }
        #expect(busy.refused.count == 1)
    }
}
