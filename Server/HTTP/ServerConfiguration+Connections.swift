import HummingbirdCore
import NIOCore

extension ServerConfiguration {
    /// The HTTP/1.1 connection settings: the ``idleTimeout`` and JSON answers to requests the
    /// HTTP parser refuses (``MalformedRequestHandler``). ``httpServer`` serves with these, with
    /// or without TLS.
    var http1Configuration: HTTP1Channel.Configuration {
        HTTP1Channel.Configuration(
            additionalChannelHandlers: [MalformedRequestHandler()], idleTimeout: TimeAmount(idleTimeout))
    }
}
