import HTTPTypes
import Hummingbird
import TandemProtocol

/// Puts the server's clock on every answer (``WireProtocol/serverTimeHeader``, whole
/// milliseconds since the epoch), so that a client with a wrong clock learns the offset at every
/// exchange and stamps its changes in the server's time. Outermost, so errors carry it too.
struct ServerTimeMiddleware: RouterMiddleware {
    typealias Context = TandemRequestContext

    let clock: @Sendable () -> Int64

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        if let name = HTTPField.Name(WireProtocol.serverTimeHeader) { response.headers[name] = String(clock()) }
        return response
    }
}
