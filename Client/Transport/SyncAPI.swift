import Foundation
public import TandemProtocol

/// The server's endpoints (SPEC §4) as typed calls over a ``SyncTransport``, and what each HTTP
/// answer means for the CLI.
///
/// | answer | error code | exit |
/// |---|---|---|
/// | cannot connect, timeout | `unavailable` | 69 |
/// | 401, 403 | `notPermitted`, with the server's message | 77 |
/// | 404 | `notFound` | 66 |
/// | 429, 5xx | `temporary` | 75 |
///
/// A 429 is waited out and retried first (``RetryPolicy``: `Retry-After`, capped, a few times);
/// only a 429 that outlasts the retries is an error.
/// | other 4xx | `invalidData`, with the server's `{"error", "message"}` | 65 |
/// | 2xx whose body is not what was expected | `internal` | 70 |
///
/// ```swift
/// let api = SyncAPI(transport: try CurlTransport(server: url, token: token))
/// let me = try api.whoAmI()   // WhoAmI(organisation: "0193…", role: .member)
/// ```
public struct SyncAPI: Sendable {
    /// What to do when the server answers 429 (too many requests): wait as long as its
    /// `Retry-After` says (capped), say so, and try again, a few times.
    ///
    /// ```swift
    /// var retry = SyncAPI.RetryPolicy()
    /// retry.notice = { line in print(line) }   // "the server is rate-limiting this token; retrying in 2 s (1 of 3)"
    /// ```
    public struct RetryPolicy: Sendable {
        /// Retries after the first 429 (default 3); then the 429 is a `temporary` error (75).
        public var maximumRetries = 3
        /// The longest wait, whatever `Retry-After` says (default 30 s).
        public var maximumWait: Double = 30
        /// The wait when `Retry-After` is missing or not a number of seconds (default 1 s).
        public var defaultWait: Double = 1
        /// Waits; tests pass one that only records.
        public var sleep: @Sendable (_ seconds: Double) -> Void = { Thread.sleep(forTimeInterval: $0) }
        /// Told one line before each wait (the CLI writes it to stderr).
        public var notice: @Sendable (_ line: String) -> Void = { _ in }

        public init() {}

        /// Never retries.
        public static var none: RetryPolicy {
            var policy = RetryPolicy()
            policy.maximumRetries = 0
            return policy
        }

        /// The seconds to wait after an answer whose `Retry-After` is `header`.
        func wait(after header: String?) -> Double {
            let asked = header.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }.flatMap {
                $0 >= 0 ? $0 : nil
            }
            return min(asked ?? defaultWait, maximumWait)
        }
    }

    public let transport: any SyncTransport
    public var retry: RetryPolicy
    /// The device's wall clock, read around each exchange to measure its offset from the server's.
    public let clock: ReplicaClock
    private let offset = ServerClockOffset()

    public init(transport: any SyncTransport, retry: RetryPolicy = RetryPolicy(), clock: ReplicaClock = .system) {
        self.transport = transport
        self.retry = retry
        self.clock = clock
    }

    /// The device clock's offset from the server's (``ClockOffset``) as the latest answer that
    /// carried the server's time measured it; nil before any did.
    public var clockOffset: Int64? { offset.value }

    /// The offset as measured now: from an answer received since `start` (the device
    /// registration a push has just made), else from a `GET /healthz` asked for it (nil when the
    /// server does not send its time). An older answer will not do: the device clock may have
    /// changed since, and a long-lived engine keeps its API.
    ///
    /// - Throws: `unavailable` when the server cannot be asked (then a push would not be stamped
    ///   right, and could not be sent anyway); any answer it gives will do.
    public func measuredClockOffset(since start: ContinuousClock.Instant) throws(ReplicaError) -> Int64? {
        if let known = offset.value(since: start) { return known }
        let asked = ContinuousClock.now
        _ = try exchange(TransportRequest(.healthz))
        return offset.value(since: asked)
    }

    /// `GET /v1/whoami`: who the token is.
    public func whoAmI() throws(ReplicaError) -> WhoAmI {
        try decode(send(TransportRequest(.whoami))) { json throws(ProtocolError) in
            try WhoAmI(json: json)
        }
    }

    /// `GET /v1/schema`: the schema the server merges with.
    public func schema() throws(ReplicaError) -> Schema {
        let request = TransportRequest(.schema)
        let response = try send(request)
        do {
            return try Schema.decode(response.body)
        } catch {
            throw ReplicaError(.internal, "the server's schema (\(request.line)) is not valid: \(error.message)")
        }
    }

    /// `POST /v1/push`: one result per change, in order.
    ///
    /// - Parameters:
    ///   - devices: the device registrations carried with other replicas' changes (docs/sync.md,
    ///     Bundles).
    ///   - values: the openings of the commitments the changes hold (SPEC §8), sent beside them.
    /// - Throws: `internal` when the answer does not have one result per change.
    public func push(
        _ changes: [Change], carrying devices: [CarriedDevice] = [], values: Openings = Openings()
    ) throws(ReplicaError) -> [PushResult] {
        let body = Array(PushRequest(changes: changes, devices: devices, values: values).json.serialized().utf8)
        let request = TransportRequest(.push, body: body)
        let results = try decode(send(request), of: request) { json throws(ProtocolError) in
            try PushResponse(json: json).results
        }
        guard results.count == changes.count else {
            throw ReplicaError(
                .internal, "the server answered \(results.count) results for \(changes.count) changes pushed")
        }
        return results
    }

    /// `GET /v1/pull?since=SEQ&limit=N`: the next page of the log.
    public func pull(since: Int64, limit: Int) throws(ReplicaError) -> PullResponse {
        let page = try pulledPage(since: since, limit: limit)
        do {
            return try page.response()
        } catch {
            throw ReplicaError(.internal, "unexpected answer from the server to a pull: \(error.message)")
        }
    }

    /// `GET /v1/pull?since=SEQ&limit=N`, as a replica applies it: entries' texts kept as sent.
    package func pulledPage(since: Int64, limit: Int) throws(ReplicaError) -> PulledPage {
        let request = TransportRequest(.pull, query: [.init("since", String(since)), .init("limit", String(limit))])
        let response = try send(request)
        do {
            // Straight from the bytes: a page of 10 000 items is read without a tree of its values.
            return try PulledPage(bytes: response.body)
        } catch {
            throw ReplicaError(.internal, "unexpected answer from the server to \(request.line): \(error.message)")
        }
    }

    /// `GET /v1/conflicts` (open ones) or `GET /v1/conflicts?all=true`.
    public func conflicts(includeResolved: Bool) throws(ReplicaError) -> [ConflictInfo] {
        let request = TransportRequest(.conflicts, query: includeResolved ? [.init("all", "true")] : [])
        return try decode(send(request), of: request) { json throws(ProtocolError) in try Self.conflicts(json) }
    }

    /// `POST /v1/conflicts/{id}/resolve`: the conflict as it is after the decision.
    public func resolve(conflict id: String, with resolution: Resolution) throws(ReplicaError) -> ConflictInfo {
        let request = TransportRequest(
            .resolve, parameters: ["id": id], body: Array(resolution.json.serialized().utf8))
        return try decode(send(request), of: request) { json throws(ProtocolError) in try ConflictInfo(json: json) }
    }

    /// `GET /v1/digest`: per-table digests of the records the token may see (``TableDigest``).
    public func digests() throws(ReplicaError) -> DigestResponse {
        let request = TransportRequest(.digest)
        return try decode(send(request), of: request) { json throws(ProtocolError) in try DigestResponse(json: json) }
    }

    // MARK: - Answers

    private static func conflicts(_ json: JSONValue) throws(ProtocolError) -> [ConflictInfo] {
        guard case let .array(items) = json else { throw ProtocolError(.invalidJSON, "expected an array of conflicts") }
        var conflicts: [ConflictInfo] = []
        for item in items { conflicts.append(try ConflictInfo(json: item)) }
        return conflicts
    }

    /// Sends `request`, returning a 2xx answer and turning any other into a ``ReplicaError``; a
    /// 429 is retried as ``retry`` says (every endpoint is safe to repeat: a push resends the same
    /// change ids, and the server did nothing with a request it refused).
    func send(_ request: TransportRequest) throws(ReplicaError) -> TransportResponse {
        var attempt = 0
        while true {
            let response = try exchange(request)
            if (200..<300).contains(response.status) { return response }
            guard response.status == 429, attempt < retry.maximumRetries else {
                throw Self.error(for: response, of: request)
            }
            attempt += 1
            let wait = retry.wait(after: response.headers["retry-after"])
            retry.notice(
                "the server is rate-limiting this token; retrying \(request.method.rawValue) \(request.path) in "
                    + "\(Self.seconds(wait)) s (\(attempt) of \(retry.maximumRetries))")
            retry.sleep(wait)
        }
    }

    /// One exchange, its answer whatever it is, the clock offset taken from it.
    private func exchange(_ request: TransportRequest) throws(ReplicaError) -> TransportResponse {
        let sent = clock.now()
        do {
            let response = try transport.send(request)
            offset.observe(response, sent: sent, received: clock.now())
            return response
        } catch let error as ReplicaError {
            throw error
        } catch {
            throw ReplicaError(.unavailable, "cannot reach the server: \(error)")
        }
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }

    /// What a non-2xx answer means (see the table above).
    static func error(for response: TransportResponse, of request: TransportRequest) -> ReplicaError {
        let body = (try? JSONValue.parse(bytes: response.body)).flatMap { try? ErrorBody(json: $0) }
        let said = body.map { "\($0.message) (\($0.error))" } ?? plainText(response.body)
        let detail = said.isEmpty ? "HTTP \(response.status)" : said
        let (code, message): (ReplicaError.Code, String) =
            switch response.status {
            case 401: (.notPermitted, "the server refused the token: \(detail)")
            case 403: (.notPermitted, "not permitted: \(detail)")
            case 404: (.notFound, "\(request.line): \(detail)")
            case 429:
                (
                    .temporary,
                    "the server is still rate-limiting this token; try again later"
                        + (response.headers["retry-after"].map { " (it asks to wait \($0) s)" } ?? "") + ": \(detail)"
                )
            case 503: (.temporary, "the server is busy; try again later: \(detail)")
            case 500..<600: (.temporary, "the server failed (HTTP \(response.status)); try again: \(detail)")
            default: (.invalidData, "the server refused \(request.line): \(detail)")
            }
        return ReplicaError(code, message, serverCode: body?.error)
    }

    private static func plainText(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
    }

    func decode<T>(
        _ response: TransportResponse, of request: TransportRequest? = nil,
        _ read: (JSONValue) throws(ProtocolError) -> T
    ) throws(ReplicaError) -> T {
        do {
            return try read(try JSONValue.parse(bytes: response.body))
        } catch {
            let place = request.map { " to \($0.line)" } ?? ""
            throw ReplicaError(.internal, "unexpected answer from the server\(place): \(error.message)")
        }
    }
}

/// The latest clock offset an API's answers measured, and when (on the monotonic clock, which a
/// change of the wall clock does not move); shared by copies of the API.
private final class ServerClockOffset: @unchecked Sendable {
    private let lock = NSLock()
    private var latest: (offset: Int64, at: ContinuousClock.Instant)?

    var value: Int64? { lock.withLock { latest?.offset } }

    /// The latest offset if it was measured at or after `start`.
    func value(since start: ContinuousClock.Instant) -> Int64? {
        lock.withLock {
            guard let latest, latest.at >= start else { return nil }
            return latest.offset
        }
    }

    func observe(_ response: TransportResponse, sent: Int64, received: Int64) {
        guard let header = response.headers[WireProtocol.serverTimeHeader.lowercased()],
            let server = ClockOffset.serverTime(header: header)
        else { return }
        let measured = ClockOffset.estimate(sent: sent, received: received, server: server)
        lock.withLock { latest = (measured, ContinuousClock.now) }
    }
}
