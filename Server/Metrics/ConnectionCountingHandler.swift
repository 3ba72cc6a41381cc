import NIOCore
import Prometheus

/// Keeps `tandem_connected_clients` at the number of open HTTP connections: one handler in each
/// connection's pipeline adds one when it is added and takes it away when the connection closes.
///
/// A connection is what "connected" means here: a replica syncing through keep-alive holds one
/// between syncs (until the idle timeout), a proxy in front of the server holds its own pool.
final class ConnectionCountingHandler: ChannelInboundHandler, RemovableChannelHandler {
    /// What passes through untouched (NIO needs a handler to be inbound or outbound).
    typealias InboundIn = NIOAny

    private let gauge: Prometheus.Gauge

    init(gauge: Prometheus.Gauge) { self.gauge = gauge }

    func handlerAdded(context: ChannelHandlerContext) {
        let gauge = gauge
        gauge.increment()
        context.channel.closeFuture.whenComplete { _ in gauge.decrement() }
    }
}
