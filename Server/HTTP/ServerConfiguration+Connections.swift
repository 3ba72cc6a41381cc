import HummingbirdCore
import NIOCore

extension ServerConfiguration {
    /// The HTTP/1.1 connection settings: the ``idleTimeout``, JSON answers to requests the
    /// HTTP parser refuses (``MalformedRequestHandler``) and the count of open connections in
    /// `metrics`. ``httpServer(metrics:)`` serves with these, with or without TLS.
    func http1Configuration(metrics: ServerMetrics) -> HTTP1Channel.Configuration {
        let connections = metrics.connectedClients
        return HTTP1Channel.Configuration(
            additionalChannelHandlers: [
                ConnectionCountingHandler(gauge: connections), MalformedRequestHandler(),
            ], idleTimeout: TimeAmount(idleTimeout))
    }
}
