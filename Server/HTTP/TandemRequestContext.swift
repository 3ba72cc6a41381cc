public import Hummingbird

/// What the server knows about one request besides the request itself: who its token stands for
/// (set by ``AuthenticationMiddleware``) and how large a body it may send.
public struct TandemRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The caller; nil until the token has been checked, and always nil on `/healthz`.
    public var principal: Principal?
    /// A pull's bearer token, when ``AuthenticationMiddleware`` left it for the pull's own read
    /// to check (``PullCaller/token(_:)``): the token and the id it had when it last
    /// authenticated. Nothing is granted by it: the pull refuses it (401) unless the store still
    /// holds it active.
    var pendingToken: PendingToken?
    /// The largest body accepted, counted before and after decompression (413 beyond it).
    public var maxUploadSize: Int

    public init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        principal = nil
        pendingToken = nil
        maxUploadSize = ServerConfiguration.defaultMaximumBodySize
    }

    /// The authenticated caller.
    ///
    /// - Throws: ``ServerError`` `unauthorized` when no token was checked (a route outside the
    ///   authenticated group asked for one: a bug, answered as a refusal rather than a crash).
    func requirePrincipal() throws(ServerError) -> Principal {
        guard let principal else { throw ServerError.unauthorized }
        return principal
    }

    /// The id of the caller's token, authenticated or pending (what rate limits are kept by).
    var tokenID: String? { principal?.tokenID ?? pendingToken?.tokenID }
}

/// A bearer token not checked yet (``TandemRequestContext/pendingToken``).
struct PendingToken: Sendable {
    var token: String
    var tokenID: String
}
