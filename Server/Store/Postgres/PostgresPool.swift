import NIOCore
import NIOPosix
import PostgresNIO

/// The store's connections to the database: a pool (a `PostgresClient`) on each event loop of
/// NIO's shared group, each of an equal share of ``connections``.
///
/// A request runs on its connection's event loop (``EventLoopPinnedChannel``); the pool of that
/// loop lends it a connection whose socket that same thread reads and writes, so a query goes
/// out and its answer comes back without waking another thread. Off a loop (admin commands,
/// the start-up verification), the first pool serves.
final class PostgresPool: Sendable {
    /// The most connections the store opens, all loops together (postgres-nio's default).
    static let connections = 20

    private let pools: [ObjectIdentifier: PostgresClient]
    private let first: PostgresClient
    private let all: [PostgresClient]

    init(configuration: PostgresClient.Configuration, logger: Logger) {
        let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())
        var configuration = configuration
        configuration.options.maximumConnections = max(2, Self.connections / max(loops.count, 1))
        var pools: [ObjectIdentifier: PostgresClient] = [:]
        var all: [PostgresClient] = []
        for loop in loops {
            let client = PostgresClient(configuration: configuration, eventLoopGroup: loop, backgroundLogger: logger)
            pools[ObjectIdentifier(loop)] = client
            all.append(client)
        }
        if all.isEmpty { all = [PostgresClient(configuration: configuration, backgroundLogger: logger)] }
        self.pools = pools
        self.all = all
        first = all[0]
    }

    /// The pool of this thread's event loop, else the first.
    var client: PostgresClient {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else { return first }
        return pools[ObjectIdentifier(loop)] ?? first
    }

    /// Runs every pool until cancelled.
    func run() async {
        await withDiscardingTaskGroup { group in
            for client in all { group.addTask { await client.run() } }
        }
    }
}
