import HTTPTypes
import Hummingbird
import Metrics

/// Counts and times every answer (`tandem_http_requests_total`,
/// `tandem_http_request_duration_seconds`) and binds the application's metrics factory to the
/// request's task, so that what the core records during it (the store transaction timer) lands
/// in this application's registry.
///
/// It runs outside ``ErrorMiddleware``, so refusals are counted with the status they are
/// answered with. The endpoint label is the route template Hummingbird matched
/// (`/v1/conflicts/{id}/resolve`), `unmatched` when none did (an unknown path, or a method the
/// path does not answer): never the raw path, so that the number of series stays bounded
/// whatever paths clients send.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = TandemRequestContext

    let metrics: ServerMetrics

    /// The methods labelled as themselves; any other is `other`.
    static let knownMethods: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .patch, .delete, .options]

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let metrics = metrics
        var response = try await withMetricsFactory(metrics.factory) { try await next(request, context) }
        let status = response.status.code
        let method = Self.knownMethods.contains(request.method) ? request.method.rawValue : "other"
        // Read once the router has run: it sets the template of the route it matched (and a
        // word of its own, `NotFound`, when none did).
        let endpoint = context.endpointPath.flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "unmatched"
        // Recorded once the body is written (a streamed history takes as long as it streams).
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            defer {
                metrics.recordRequest(
                    endpoint: endpoint, method: method, status: status, duration: start.duration(to: .now))
            }
            try await body.write(writer)
        }
        return response
    }
}
