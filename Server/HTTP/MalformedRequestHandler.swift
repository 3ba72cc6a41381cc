import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import TandemProtocol

/// Answers what NIO's HTTP/1.1 parser refuses — headers over the limit (431), an unknown method,
/// a broken request line or header — with the API's JSON error body instead of Hummingbird's
/// empty 400, then closes the connection.
///
/// It sits in the connection's pipeline, below the router: the router never sees these
/// requests. Once a request is being answered the parser error is left to Hummingbird, which
/// closes the connection (a second answer would corrupt the stream).
final class MalformedRequestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Requests whose head has been read and whose answer has not ended.
    private var requestsInFlight = 0
    private var hasAnswered = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { requestsInFlight += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { requestsInFlight -= 1 }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, requestsInFlight == 0, !hasAnswered else {
            context.fireErrorCaught(error)
            return
        }
        hasAnswered = true
        let (status, body) = Self.answer(to: parserError)
        let bytes = Array(body.json.serialized().utf8)
        let head = HTTPResponse(
            status: status,
            headerFields: [
                .contentType: "application/json", .contentLength: String(bytes.count), .connection: "close",
            ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: bytes))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        // Output only, once the answer is out: the client reads it and closes; closing at once
        // could reset the connection over the unread rest of its request and lose the answer.
        // The idle timeout ends a client that never closes.
        context.close(mode: .output, promise: nil)
    }

    static func answer(to error: HTTPParserError) -> (HTTPResponse.Status, ErrorBody) {
        switch error {
        case .headerOverflow:
            (
                HTTPResponse.Status(code: ErrorCode.headersTooLarge.httpStatus),
                ErrorBody(error: .headersTooLarge, message: "the request's headers are too large")
            )
        case .invalidMethod:
            (
                HTTPResponse.Status(code: ErrorCode.badRequest.httpStatus),
                ErrorBody(error: .badRequest, message: "the request's method is not an HTTP method")
            )
        default:
            (
                HTTPResponse.Status(code: ErrorCode.badRequest.httpStatus),
                ErrorBody(error: .badRequest, message: "the request is not valid HTTP/1.1")
            )
        }
    }
}
