/// How a `tandem-server` runs: where it keeps its data and where it listens (SPEC §4).
///
/// This is the skeleton the sync issue builds on: the HTTP application, the stores and the
/// admin commands read their settings from here.
///
/// ```swift
/// let configuration = ServerConfiguration(dataDirectory: "/var/lib/tandem")
/// configuration.port  // 8080
/// ```
public struct ServerConfiguration: Hashable, Sendable {
    /// The folder holding the store (SQLite by default), the server's key and its settings.
    public var dataDirectory: String
    /// The address to listen on; loopback unless told otherwise.
    public var host: String
    public var port: Int
    /// The largest request body accepted, before and after decompression.
    public var maximumBodySize: Int

    public static let defaultHost = "127.0.0.1"
    public static let defaultPort = 8080
    public static let defaultMaximumBodySize = 16 * 1024 * 1024

    public init(
        dataDirectory: String, host: String = defaultHost, port: Int = defaultPort,
        maximumBodySize: Int = defaultMaximumBodySize
    ) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.maximumBodySize = maximumBodySize
    }
}
