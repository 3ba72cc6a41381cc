public import Hummingbird
public import Logging
import NIOCore
import TandemProtocol

/// Builds the Tandem HTTP server (SPEC §4) on `store`: the executable runs it, tests drive it
/// with `app.test(.router)` or `.live`.
///
/// - Parameters:
///   - configuration: where to listen and the body limit.
///   - store: where everything is kept.
///   - logger: for requests and store failures; tokens and field values never reach it.
///   - clock: milliseconds since the epoch, the `now` of every store call.
///   - metrics: where the application counts and times what it does (`GET /metrics`); one
///     of its own unless given (``ServerMetrics`` says why not a process-wide one).
///   - onServerRunning: called once listening, with the bound address and port (the real one
///     when `configuration.port` is 0).
///
/// ```swift
/// let store = try StoreLocation.directory("/var/lib/tandem").open()
/// let app = buildApplication(configuration: ServerConfiguration(dataDirectory: "/var/lib/tandem"), store: store, logger: logger)
/// try await app.runService()
/// ```
public func buildApplication(
    configuration: ServerConfiguration, store: any ServerStore, logger: Logger,
    clock: @escaping @Sendable () -> Int64 = ServerClock.wall, metrics: ServerMetrics = ServerMetrics(),
    onServerRunning: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in }
) -> some ApplicationProtocol {
    let router = Router(context: TandemRequestContext.self, options: .autoGenerateHeadEndpoints)
    // The server's time on every answer, errors included (outside the error middleware).
    router.add(middleware: ServerTimeMiddleware(clock: clock))
    // Outside the error middleware, so that each answer is counted with the status it went out with.
    router.add(middleware: MetricsMiddleware(metrics: metrics))
    // The limit first, so that the error middleware reports the configured one.
    router.add(middleware: BodyLimitMiddleware(limit: configuration.maximumBodySize))
    router.add(middleware: ErrorMiddleware())
    router.get(RouterPath(Endpoint.healthz.path)) { request, _ in
        JSONResponse.make(.object([JSONMember("status", .string("ok"))]), for: request)
    }
    router.get(RouterPath(Endpoint.openAPI.path)) { request, _ in JSONResponse.make(OpenAPIDocument.json, for: request)
    }
    MetricsController(store: store, metrics: metrics).addRoutes(to: router)
    let api = router.group(RouterPath("v\(WireProtocol.version)")).add(
        middleware: AuthenticationMiddleware(store: store))
    api.add(middleware: RateLimitMiddleware(configuration: configuration, metrics: metrics))
    APIController(store: store, clock: clock, metrics: metrics).addRoutes(to: api)
    return Application(
        router: router, server: configuration.httpServer(metrics: metrics),
        configuration: ApplicationConfiguration(
            address: .hostname(configuration.host, port: configuration.port), serverName: "tandem-server"),
        onServerRunning: { channel in
            let address = channel.localAddress
            await onServerRunning(address?.ipAddress ?? configuration.host, address?.port ?? configuration.port)
        },
        logger: logger
    )
}
