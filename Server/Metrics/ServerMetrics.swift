import Metrics
import NIOConcurrencyHelpers
public import Prometheus
import TandemProtocol

/// The server's metrics (`GET /metrics`, docs/operations.md "Metrics"): one Prometheus registry
/// per application, never a process-wide one.
///
/// swift-metrics' `MetricsSystem.bootstrap` may be called once in a process (a second call
/// traps), and the tests build many applications in one process; so each application owns a
/// `ServerMetrics`, and its ``factory`` is bound to every request's task
/// (`withMetricsFactory`, by ``MetricsMiddleware``). The store's transaction timer in the
/// core (`StoreAdapter.transaction`) records through the factory bound to its task, which keeps
/// the core free of Prometheus and gives every store, SQLite or PostgreSQL, the same timing.
/// Outside a request (the admin commands) nothing is bound and the timer is a no-op.
///
/// ```swift
/// let metrics = ServerMetrics()
/// let app = buildApplication(configuration: configuration, store: store, logger: logger, metrics: metrics)
/// ```
public final class ServerMetrics: Sendable {
    /// Where every metric of this application lives; `GET /metrics` renders it.
    public let registry: PrometheusCollectorRegistry
    /// `registry` as a swift-metrics factory (with the store timer's buckets).
    public let factory: PrometheusMetricsFactory

    private let requests: Family
    private let requestDuration: Family
    /// The series of each request label set met so far: a lookup here costs far less than the
    /// registry's, which checks the name, the labels and the help text every time.
    private let requestSeries = NIOLockedValueBox<[RequestKey: RequestSeries]>([:])
    private let pushResults: Family
    private let changesMerged: Prometheus.Counter
    private let rateLimited: Family
    private let openConflicts: Prometheus.Gauge
    private let headSeq: Prometheus.Gauge
    /// The store's instance cache: made at the first scrape of a store that has one.
    private let cache: NIOLockedValueBox<CacheSeries?> = .init(nil)
    /// Open HTTP connections (``ConnectionCountingHandler``).
    let connectedClients: Prometheus.Gauge

    /// HTTP latency buckets, in seconds: 1 ms to 10 s, with the load test's p99 target (250 ms) on an edge.
    static let requestBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .microseconds(2_500_000), .seconds(5), .seconds(10),
    ]
    /// Store transaction buckets: 0.5 ms to 5 s (a 500-change push commits in tens of ms).
    static let transactionBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .microseconds(2_500_000), .seconds(5),
    ]

    /// A registry of its own, with `tandem_build_info{version=…}` set to 1 and every bounded
    /// label set of the push and rate-limit counters present at 0 (so that `rate()` sees their
    /// first increase).
    ///
    /// - Parameter version: the server's version, for `tandem_build_info`.
    public init(version: String = ServerBuild.version) {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [StoreOperation.metricName: Self.transactionBuckets]
        self.registry = registry
        self.factory = factory
        requests = Family(
            registry, "tandem_http_requests_total",
            help: "HTTP requests answered, by route template, method and status.")
        requestDuration = Family(
            registry, "tandem_http_request_duration_seconds",
            help: "Time from a request's arrival to the end of its answer, by route template and method.")
        pushResults = Family(
            registry, "tandem_push_results_total",
            help: "Push results, by status and, for rejected changes, the class of the reason.")
        changesMerged = Family(
            registry, "tandem_changes_merged_total",
            help: "Pushed changes the merge took into the history (applied, merged or conflict)."
        ).counter()
        rateLimited = Family(
            registry, "tandem_rate_limited_requests_total", help: "Requests refused with 429, by limit (push or pull).")
        openConflicts = Family(
            registry, "tandem_open_conflicts", help: "Conflicts not yet resolved, read from the store at scrape time."
        ).gauge()
        headSeq = Family(
            registry, "tandem_log_head_seq",
            help: "The seq of the history's last entry, read from the store at scrape time."
        ).gauge()
        connectedClients = Family(
            registry, "tandem_connected_clients", help: "Open HTTP connections to this instance (TLS or not)."
        ).gauge()
        Family(registry, "tandem_build_info", help: "The server's version and wire protocol version; always 1.")
            .gauge(("version", version), ("protocol", String(WireProtocol.version))).set(Double(1))
        for status in Outcome.Status.allCases where status != .rejected {
            _ = pushResults.counter(("status", status.rawValue), ("reason", PushOutcomeClass.noReason))
        }
        for family in RejectionReason.Family.allCases {
            _ = pushResults.counter(("status", Outcome.Status.rejected.rawValue), ("reason", family.rawValue))
        }
        for limit in ["push", "pull"] { _ = rateLimited.counter(("limit", limit)) }
        for operation in StoreOperation.allCases {
            _ = Metrics.Timer(label: StoreOperation.metricName, dimensions: operation.dimensions, factory: factory)
        }
    }

    // MARK: - Recording

    /// One answered request: `endpoint` is the route template (`/v1/conflicts/{id}/resolve`), or
    /// `unmatched` for a path no route serves, never the raw path.
    func recordRequest(endpoint: String, method: String, status: Int, duration: Duration) {
        let key = RequestKey(endpoint: endpoint, method: method, status: status)
        let series = requestSeries.withLockedValue { known in
            if let series = known[key] { return series }
            let series = RequestSeries(
                count: requests.counter(("endpoint", endpoint), ("method", method), ("status", String(status))),
                duration: requestDuration.histogram(
                    ("endpoint", endpoint), ("method", method), buckets: Self.requestBuckets))
            known[key] = series
            return series
        }
        series.count.increment()
        series.duration.record(duration)
    }

    /// The results of one push.
    func recordPush(_ results: [PushResult]) {
        var merged = 0
        var counts: [PushOutcomeClass: Int] = [:]
        for result in results {
            let outcome = PushOutcomeClass(result)
            counts[outcome, default: 0] += 1
            if outcome.isMerged { merged += 1 }
        }
        for (outcome, count) in counts {
            pushResults.counter(("status", outcome.status.rawValue), ("reason", outcome.reason))
                .increment(by: Int64(count))
        }
        if merged > 0 { changesMerged.increment(by: Int64(merged)) }
    }

    /// A request refused by the rate limit `limit` (`push` or `pull`).
    func recordRateLimited(_ limit: String) {
        rateLimited.counter(("limit", limit)).increment()
    }

    // MARK: - Scraping

    /// The exposition text (format 0.0.4), after reading the gauges the store holds: the head seq
    /// and the open conflicts.
    ///
    /// - Throws: the store's error when it cannot be read (the endpoint answers 503, as others do).
    func render(reading store: any ServerStore) async throws -> String {
        async let head = store.headSeq()
        async let conflicts = store.openConflictCount()
        headSeq.set(Double(try await head))
        openConflicts.set(Double(try await conflicts))
        if let status = store.instanceCache {
            cache.withLockedValue { series in
                if series == nil { series = CacheSeries(registry) }
                series?.record(status)
            }
        }
        return registry.emitToString()
    }

    /// The content type of ``render(reading:)``'s text.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"
}

/// The series of a store's instance cache (PostgreSQL): set from its status at each scrape.
private struct CacheSeries {
    let trusted: Prometheus.Gauge
    let losses: Prometheus.Counter
    /// The losses counted so far: the counter goes up by what the cache counted since.
    var counted = 0

    init(_ registry: PrometheusCollectorRegistry) {
        trusted = Family(
            registry, "tandem_instance_cache_trusted",
            help: "1 while this instance answers no-op syncs from memory (PostgreSQL), 0 while its cache is off."
        ).gauge()
        losses = Family(
            registry, "tandem_instance_cache_losses_total",
            help: "Times this instance's cache was turned off (its listener lost or its heartbeats late; PostgreSQL)."
        ).counter()
    }

    mutating func record(_ status: InstanceCacheStatus) {
        trusted.set(Double(status.isTrusted ? 1 : 0))
        if status.losses > counted { losses.increment(by: Int64(status.losses - counted)) }
        counted = max(counted, status.losses)
    }
}

/// A metric's name and help: its series, one a label set, are made (and found again) in the registry.
private struct Family: Sendable {
    let registry: PrometheusCollectorRegistry
    let name: String
    let help: String

    init(_ registry: PrometheusCollectorRegistry, _ name: String, help: String) {
        self.registry = registry
        self.name = name
        self.help = help
    }

    /// The name as the registry takes it: whole, with its unit (`_total`, `_seconds`) in it.
    private var descriptor: MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    func counter(_ labels: (String, String)...) -> Prometheus.Counter {
        registry.makeCounter(descriptor: descriptor, labels: labels)
    }

    func gauge(_ labels: (String, String)...) -> Prometheus.Gauge {
        registry.makeGauge(descriptor: descriptor, labels: labels)
    }

    func histogram(_ labels: (String, String)..., buckets: [Duration]) -> DurationHistogram {
        registry.makeDurationHistogram(descriptor: descriptor, labels: labels, buckets: buckets)
    }
}

/// The labels of a request's series.
private struct RequestKey: Hashable {
    let endpoint: String
    let method: String
    let status: Int
}

/// A request label set's counter and histogram.
private struct RequestSeries: Sendable {
    let count: Prometheus.Counter
    let duration: DurationHistogram
}

/// A push result as `tandem_push_results_total` counts it: its status and, for a rejection,
/// the family of its reason (``RejectionReason/Family``: a handful of values whatever the
/// schema, so that table and field names never become label values); `none` otherwise (a
/// duplicate's reason was counted the first time).
struct PushOutcomeClass: Hashable {
    /// The reason label of a result that is not a rejection.
    static let noReason = "none"

    let status: Outcome.Status
    /// The `reason` label.
    let reason: String

    init(_ result: PushResult) {
        status = result.status
        reason =
            result.status == .rejected
            ? (result.reason?.family ?? RejectionReason.Family.other).rawValue : Self.noReason
    }

    /// Whether the change entered the history through the merge.
    var isMerged: Bool { status == .applied || status == .merged || status == .conflict }
}
