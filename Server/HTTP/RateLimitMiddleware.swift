import HTTPTypes
import Hummingbird
import TandemProtocol

/// Limits the endpoints that count against a limit (``Endpoint/limit``: `POST /v1/push` and
/// `POST /v1/devices` — registering a device writes a history entry —; `GET /v1/pull`,
/// `/v1/history`, `/v1/checkpoint`, `/v1/bundle`, `/v1/digest`) per token (SPEC §4, issue 4): a token bucket per
/// token and endpoint, from ``ServerConfiguration/pushRateLimit`` and
/// ``ServerConfiguration/pullRateLimit``. A request over the limit gets 429
/// `{"error": "rate_limited", "message": …}` with `Retry-After` (whole seconds) and does nothing.
///
/// It runs after ``AuthenticationMiddleware``, so the key is the caller's token id (a pull's
/// pending token's is the id it authenticated with before: the limit is taken before the pull's
/// read, which checks the token, and a revoked token is refused either way): a client
/// that sends bad tokens gets its 401s without touching anyone's bucket, and one busy token never
/// slows another. Other endpoints are not limited.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = TandemRequestContext

    private let push: ServerConfiguration.RateLimit
    private let pull: ServerConfiguration.RateLimit
    private let buckets: RateLimiter
    private let metrics: ServerMetrics

    /// - Parameters:
    ///   - configuration: the limits (a disabled one lets every request through).
    ///   - metrics: where refusals are counted (`tandem_rate_limited_requests_total{limit=…}`).
    ///   - clock: seconds on a monotonic clock; tests pass their own.
    init(
        configuration: ServerConfiguration, metrics: ServerMetrics,
        clock: @escaping @Sendable () -> Double = RateLimiter.uptime
    ) {
        push = configuration.pushRateLimit
        pull = configuration.pullRateLimit
        buckets = RateLimiter(clock: clock)
        self.metrics = metrics
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let endpoint: (name: String, limit: ServerConfiguration.RateLimit)
        switch RouteTable.endpoint(request.method, request.uri.path)?.limit {
        case .push: endpoint = ("push", push)
        case .pull: endpoint = ("pull", pull)
        case nil: return try await next(request, context)
        }
        guard endpoint.limit.isEnabled, let tokenID = context.tokenID else {
            return try await next(request, context)
        }
        let decision = await buckets.take(key: tokenID + " " + endpoint.name, limit: endpoint.limit)
        guard case let .refused(retryAfter) = decision else { return try await next(request, context) }
        metrics.recordRateLimited(endpoint.name)
        context.logger.notice(
            "rate limited", metadata: ["endpoint": .string(endpoint.name), "retry_after": "\(retryAfter)"])
        let body = ErrorBody(
            error: .rateLimited,
            message:
                "too many \(endpoint.name) requests for this token (\(Self.describe(endpoint.limit))); retry in \(retryAfter) s"
        )
        var response = JSONResponse.make(
            body.json, status: HTTPResponse.Status(code: body.error.httpStatus), for: request)
        response.headers[.retryAfter] = String(retryAfter)
        return response
    }

    private static func describe(_ limit: ServerConfiguration.RateLimit) -> String {
        let rate =
            limit.requestsPerSecond == limit.requestsPerSecond.rounded()
            ? String(Int(limit.requestsPerSecond)) : String(limit.requestsPerSecond)
        return "\(rate) a second, bursts of \(limit.burst)"
    }
}

/// One token bucket: holds up to `burst` requests, refilled at `requestsPerSecond`. Pure: the
/// caller passes the time.
struct TokenBucket: Hashable, Sendable {
    enum Decision: Hashable, Sendable {
        case allowed
        /// Refused; a request will be allowed again after this many whole seconds (at least 1).
        case refused(retryAfter: Int)
    }

    let limit: ServerConfiguration.RateLimit
    private(set) var available: Double
    private(set) var updated: Double

    /// A full bucket at `now`.
    init(limit: ServerConfiguration.RateLimit, now: Double) {
        self.limit = limit
        available = Double(limit.burst)
        updated = now
    }

    /// Takes one request from the bucket if it holds one.
    mutating func take(now: Double) -> Decision {
        refill(now: now)
        if available >= 1 {
            available -= 1
            return .allowed
        }
        let wait = (1 - available) / limit.requestsPerSecond
        return .refused(retryAfter: max(1, Int(wait.rounded(.up))))
    }

    /// Whether the bucket is full at `now` (it can be forgotten: a new one would be the same).
    func isFull(now: Double) -> Bool {
        var copy = self
        copy.refill(now: now)
        return copy.available >= Double(limit.burst)
    }

    private mutating func refill(now: Double) {
        let elapsed = max(0, now - updated)
        available = min(Double(limit.burst), available + elapsed * limit.requestsPerSecond)
        updated = max(updated, now)
    }
}

/// The buckets of every token, shared by all requests.
actor RateLimiter {
    private var buckets: [String: TokenBucket] = [:]
    private let clock: @Sendable () -> Double
    /// Full buckets are forgotten when this many are kept, so that memory follows the tokens
    /// active in the last few seconds, not every token ever seen.
    private let pruneThreshold = 10_000

    init(clock: @escaping @Sendable () -> Double) { self.clock = clock }

    func take(key: String, limit: ServerConfiguration.RateLimit) -> TokenBucket.Decision {
        let now = clock()
        if buckets.count >= pruneThreshold { buckets = buckets.filter { !$0.value.isFull(now: now) } }
        var bucket = buckets[key] ?? TokenBucket(limit: limit, now: now)
        let decision = bucket.take(now: now)
        buckets[key] = bucket
        return decision
    }

    /// Seconds since the first call, never going back (unlike the wall clock).
    @Sendable static func uptime() -> Double {
        let elapsed = start.duration(to: .now)
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    private static let start = ContinuousClock.now
}
