/// How a `tandem-server` runs: where it keeps its data, where it listens, how much it accepts
/// (SPEC §4).
///
/// The HTTP application, the stores and the admin commands read their settings from here.
///
/// ```swift
/// var configuration = ServerConfiguration(dataDirectory: "/var/lib/tandem")
/// configuration.port  // 8080
/// configuration.pushRateLimit  // 20 requests a second per token, bursts of 40
/// configuration.tls = ServerConfiguration.TLS(certificateChain: "cert.pem", privateKey: "key.pem")
/// ```
public struct ServerConfiguration: Hashable, Sendable {
    /// A token bucket: each token may make `requestsPerSecond` requests a second on average and
    /// `burst` in a row after a pause. A rate of 0 (or a burst of 0) turns the limit off.
    public struct RateLimit: Hashable, Sendable {
        public var requestsPerSecond: Double
        public var burst: Int

        public init(requestsPerSecond: Double, burst: Int) {
            self.requestsPerSecond = requestsPerSecond
            self.burst = burst
        }

        /// No limit.
        public static let unlimited = RateLimit(requestsPerSecond: 0, burst: 0)

        /// Whether the limit is on.
        public var isEnabled: Bool { requestsPerSecond > 0 && burst > 0 }
    }

    /// HTTPS: the server's certificate chain and private key, as PEM files.
    public struct TLS: Hashable, Sendable {
        /// The server's certificate, then any intermediates (PEM).
        public var certificateChain: String
        /// The certificate's private key (PEM, unencrypted).
        public var privateKey: String

        public init(certificateChain: String, privateKey: String) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
        }
    }

    /// The folder holding the store (SQLite by default), the server's key and its settings.
    public var dataDirectory: String
    /// The address to listen on; loopback unless told otherwise.
    public var host: String
    public var port: Int
    /// The largest request body accepted, before and after decompression.
    public var maximumBodySize: Int
    /// `POST /v1/push` per token (default 20 a second, bursts of 40): a sync sends one push per
    /// 500 changes, so this never slows an ordinary sync.
    public var pushRateLimit: RateLimit
    /// `GET /v1/pull` per token (default 50 a second, bursts of 100): one request per page of
    /// 1000 items.
    public var pullRateLimit: RateLimit
    /// HTTPS when set; plain HTTP (behind a TLS-terminating proxy, or on loopback) when nil.
    public var tls: TLS?
    /// How long a connection may stay silent — no request, or a request whose headers or body
    /// stop arriving — before the server closes it (default 30 s), so that abandoned and
    /// slow-loris connections cannot pile up. A request being answered is never cut.
    public var idleTimeout: Duration = defaultIdleTimeout

    public static let defaultHost = "127.0.0.1"
    public static let defaultPort = 8080
    public static let defaultMaximumBodySize = 16 * 1024 * 1024
    public static let defaultIdleTimeout = Duration.seconds(30)
    public static let defaultPushRateLimit = RateLimit(requestsPerSecond: 20, burst: 40)
    public static let defaultPullRateLimit = RateLimit(requestsPerSecond: 50, burst: 100)

    public init(
        dataDirectory: String, host: String = defaultHost, port: Int = defaultPort,
        maximumBodySize: Int = defaultMaximumBodySize, pushRateLimit: RateLimit = defaultPushRateLimit,
        pullRateLimit: RateLimit = defaultPullRateLimit, tls: TLS? = nil
    ) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.maximumBodySize = maximumBodySize
        self.pushRateLimit = pushRateLimit
        self.pullRateLimit = pullRateLimit
        self.tls = tls
    }
}
