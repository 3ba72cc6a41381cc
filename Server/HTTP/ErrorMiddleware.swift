import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The outermost middleware but one (``ServerTimeMiddleware``): whatever goes wrong below it becomes a 4xx JSON answer
/// `{"error": CODE, "message": …}` (or 503 `unavailable` when the store fails), never a 500.
///
/// Router misses are told apart here: a known path with the wrong method is 405 (with `Allow`),
/// anything else 404. Store failures are logged by error code or type only, never with a token
/// or a field value.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = TandemRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ServerError {
            return try respond(error, to: request, context: context)
        } catch let error as HTTPError {
            return try respond(translate(error, request: request, context: context), to: request, context: context)
        } catch is NIOTooManyBytesError {
            return try respond(.tooLarge(limit: context.maxUploadSize), to: request, context: context)
        } catch let error as any HTTPResponseError where error.status.code < 500 {
            let server = ServerError(
                .badRequest,
                error.status.reasonPhrase.isEmpty ? "bad request" : error.status.reasonPhrase)
            var response = try respond(server, to: request, context: context)
            response.status = error.status
            return response
        } catch {
            context.logger.error(
                "request failed", metadata: ["error_type": .string(String(reflecting: type(of: error)))])
            return try respond(
                ServerError(.unavailable, "the request could not be completed"), to: request,
                context: context)
        }
    }

    private func respond(_ error: ServerError, to request: Request, context: Context) throws -> Response {
        if error.isInternal {
            context.logger.error(
                "store failure",
                metadata: [
                    "code": .string(error.failure?.description ?? error.code.rawValue),
                    "detail": .string(error.message),
                ])
        }
        var response = try error.response(from: request, context: context)
        if error.code == .methodNotAllowed, let methods = RouteTable.methods(for: request.uri.path) {
            response.headers[.allow] = methods.map(\.rawValue).joined(separator: ", ")
        }
        return response
    }

    /// Hummingbird's own errors: the router's 404, and the few statuses its body handling raises.
    private func translate(_ error: HTTPError, request: Request, context: Context) -> ServerError {
        switch error.status {
        case .notFound:
            if let methods = RouteTable.methods(for: request.uri.path), !methods.contains(request.method) {
                return ServerError(
                    .methodNotAllowed,
                    "\(request.method.rawValue) is not allowed on \(request.uri.path)")
            }
            return ServerError(.notFound, "no such endpoint: \(request.uri.path)")
        case .contentTooLarge:
            return .tooLarge(limit: context.maxUploadSize)
        default:
            return ServerError(
                error.status.code < 500 ? .badRequest : .unavailable, error.body ?? error.status.reasonPhrase)
        }
    }
}
