import Hummingbird
import TandemProtocol

/// `GET /metrics` (SPEC §4): the application's metrics in the Prometheus text format (0.0.4),
/// for coordinators and auditors; no, unknown or revoked token → 401, a member's → 403, with
/// the API's JSON error body. The scrape is not rate limited (a scraper's interval is its own
/// limit) and reads the store for two gauges (the head seq, the open conflicts).
struct MetricsController: Sendable {
    typealias Context = TandemRequestContext

    let store: any ServerStore
    let metrics: ServerMetrics

    func addRoutes(to router: Router<Context>) {
        router.group(RouterPath(Endpoint.metrics.path)).add(middleware: AuthenticationMiddleware(store: store)).get(
            use: scrape)
    }

    @Sendable func scrape(request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        guard Endpoint.metrics.admits(principal.role) else {
            throw ServerError.forbidden("\(principal.role.rawValue) tokens may not \(Endpoint.metrics.action)")
        }
        let text = try await metrics.render(reading: store)
        return JSONResponse.make(text: text, contentType: ServerMetrics.contentType, for: request)
    }
}
