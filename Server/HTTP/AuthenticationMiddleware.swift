import HTTPTypes
import Hummingbird
import Logging

/// Checks `Authorization: Bearer TOKEN` against the store and puts the caller in the context;
/// no, unknown or revoked token → 401 `unauthorized`. The token itself is never logged: the log
/// names the token's id.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = TandemRequestContext

    let store: any ServerStore

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let token = Self.bearerToken(in: request.headers[.authorization]),
            let principal = try await store.authenticate(token: token)
        else { throw ServerError.unauthorized }
        var context = context
        context.principal = principal
        context.logger[metadataKey: "token_id"] = .string(principal.tokenID)
        return try await next(request, context)
    }

    /// The token of a `Bearer` credential (scheme case-insensitive), else nil.
    static func bearerToken(in header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.trimmingSpaces.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingSpaces
        return token.isEmpty || token.contains(" ") ? nil : String(token)
    }
}
