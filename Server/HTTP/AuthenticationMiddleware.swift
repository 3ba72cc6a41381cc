import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// Checks `Authorization: Bearer TOKEN` against the store and puts the caller in the context;
/// no, unknown or revoked token → 401 `unauthorized`. The token itself is never logged: the log
/// names the token's id.
///
/// A pull (`GET /v1/pull`) by a token that authenticated before is not checked here: the token is
/// left in the context (``TandemRequestContext/pendingToken``) for the pull's own read, which
/// checks it with the page (one store read a pull; revocation still takes effect at once).
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = TandemRequestContext

    let store: any ServerStore
    let known = KnownTokens()

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let token = Self.bearerToken(in: request.headers[.authorization]) else {
            throw ServerError.unauthorized
        }
        var context = context
        let hash = Tokens.hash(token)
        if Self.isPull(request), let id = known.id(hash: hash) {
            context.pendingToken = PendingToken(token: token, tokenID: id)
            context.logger[metadataKey: "token_id"] = .string(id)
            return try await next(request, context)
        }
        guard let principal = try await store.authenticate(token: token) else { throw ServerError.unauthorized }
        known.remember(hash: hash, id: principal.tokenID)
        context.principal = principal
        context.logger[metadataKey: "token_id"] = .string(principal.tokenID)
        return try await next(request, context)
    }

    /// Whether the request is a pull, which checks its token in its own read.
    static func isPull(_ request: Request) -> Bool {
        (request.method == .get || request.method == .head) && request.uri.path == "/v1/pull"
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

/// The ids of the tokens that authenticated in this process, by the token's hash: only what
/// names a caller in logs and rate limits before its pull's read checks it — never a grant.
/// Bounded: forgotten all at once past ``capacity`` (a forgotten token is checked first again).
final class KnownTokens: Sendable {
    static let capacity = 100_000
    private let ids = Mutex<[String: String]>([:])

    func id(hash: String) -> String? { ids.withLock { $0[hash] } }

    func remember(hash: String, id: String) {
        ids.withLock { ids in
            if ids.count >= Self.capacity { ids.removeAll() }
            ids[hash] = id
        }
    }
}
