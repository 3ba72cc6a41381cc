import Hummingbird

/// Gives every request the configured body limit (``ServerConfiguration/maximumBodySize``):
/// the context is made by Hummingbird from the connection alone, so the setting arrives here.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = TandemRequestContext

    let limit: Int

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.maxUploadSize = limit
        return try await next(request, context)
    }
}
