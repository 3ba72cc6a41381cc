public import Hummingbird

/// What the server knows about one request besides the request itself: who its token stands for
/// (set by ``AuthenticationMiddleware``) and how large a body it may send.
public struct TandemRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The caller; nil until the token has been checked, and always nil on `/healthz`.
    public var principal: Principal?
    /// The largest body accepted, counted before and after decompression (413 beyond it).
    public var maxUploadSize: Int

    public init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        principal = nil
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
}
