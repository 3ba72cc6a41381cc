import Hummingbird
import TandemProtocol

/// The authenticated `/v1` endpoints (SPEC §4): each reads what it needs from the request, asks
/// the store, and answers JSON. Who may call what is decided here by role; what a role may see
/// or change record by record is the store's (and the merge's) business.
struct APIController: Sendable {
    typealias Context = TandemRequestContext

    let store: any ServerStore
    let clock: @Sendable () -> Int64
    /// Push results are counted here, at the edge, where every store's answer passes.
    let metrics: ServerMetrics

    /// Registers each `/v1` endpoint's handler at the endpoint's method and path, behind the
    /// check of who may call it (``Endpoint/callers``).
    func addRoutes(to group: RouterGroup<Context>) {
        let handlers: [(Endpoint, @Sendable (Request, Context) async throws -> Response)] = [
            (.whoami, whoami), (.schema, schema), (.push, push), (.pull, pull), (.conflicts, conflicts),
            (.resolve, resolve), (.devices, registerDevice), (.history, history), (.erase, erase),
            (.checkpoint, checkpoint), (.bundle, bundle), (.digest, digest),
        ]
        for (endpoint, handler) in handlers {
            Self.route(endpoint, in: group, to: handler)
        }
    }

    /// Registers `handler` for `endpoint` on `group` (whose path is the endpoint's first segment),
    /// refusing a token whose role the endpoint does not admit with 403 before the handler runs.
    static func route(
        _ endpoint: Endpoint, in group: RouterGroup<Context>,
        to handler: @escaping @Sendable (Request, Context) async throws -> Response
    ) {
        let path = endpoint.routeSegments.dropFirst().joined(separator: "/")
        group.on(RouterPath(path), method: endpoint.method.http) { request, context in
            if let principal = context.principal, !endpoint.admits(principal.role) {
                throw ServerError.forbidden("\(principal.role.rawValue) tokens may not \(endpoint.action)")
            }
            return try await handler(request, context)
        }
    }

    // MARK: - Endpoints

    /// `GET /v1/whoami` → `{"organisation", "role"}`.
    @Sendable func whoami(request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        return JSONResponse.make(WhoAmI(organisation: principal.organisation, role: principal.role).json, for: request)
    }

    /// `GET /v1/schema` → the schema document.
    @Sendable func schema(request: Request, context: Context) async throws -> Response {
        _ = try context.requirePrincipal()
        return JSONResponse.make(try await store.currentSchema().json, for: request)
    }

    /// `POST /v1/push` → one result a change, in order; 200 even when all are rejected.
    @Sendable func push(request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let body = try await RequestBodyReader.json(from: request, context: context)
        if case let .array(items)? = body["changes"], items.count > WireProtocol.maximumChangesPerPush {
            throw ServerError(
                .tooManyChanges,
                "a push may carry at most \(WireProtocol.maximumChangesPerPush) changes; got \(items.count)")
        }
        let push: PushRequest
        do {
            push = try PushRequest(json: body)
        } catch {
            throw ServerError.badJSON(error.message)
        }
        try PushLimits.check(push.changes, within: store.schema.limits)
        try PushLimits.check(push.devices, carriedWith: push.changes, within: store.schema.limits)
        let results = try await store.push(
            push.changes, carrying: push.devices, values: push.values, by: principal, now: clock())
        metrics.recordPush(results)
        return JSONResponse.make(PushResponse(results: results).json, for: request)
    }

    /// `GET /v1/pull?since=SEQ&limit=N` → `{"items", "next", "more", "checkpoint"}`: the page and
    /// the entry it reaches, signed (the replica presents it at its next sync). A token left
    /// pending by ``AuthenticationMiddleware`` is checked in the page's own read.
    @Sendable func pull(request: Request, context: Context) async throws -> Response {
        let caller: PullCaller
        if let principal = context.principal {
            caller = .principal(principal)
        } else if let pending = context.pendingToken {
            caller = .token(pending.token)
        } else {
            throw ServerError.unauthorized
        }
        let since: Int64
        let limit: Int64
        do {
            let query = request.uri.queryParameters
            since = try integer(
                query["since"].map(String.init), range: 0...Int64.max, default: 0,
                otherwise: "since: expected a seq, an integer of 0 or more")
            limit = try integer(
                query["limit"].map(String.init), range: 1...Int64(WireProtocol.maximumPullLimit),
                default: Int64(WireProtocol.defaultPullLimit),
                otherwise: "limit: expected an integer from 1 to \(WireProtocol.maximumPullLimit)")
        } catch {
            // A token no longer active is refused as such, whatever its query.
            if case let .token(token) = caller, try await store.authenticate(token: token) == nil {
                throw ServerError.unauthorized
            }
            throw error
        }
        guard let pulled = try await store.signedPullPage(caller, since: since, limit: Int(limit), now: clock()) else {
            throw ServerError.unauthorized
        }
        return JSONResponse.make(text: pulled.json, for: request)
    }

    /// `GET /v1/conflicts[?all=true]` → an array of conflicts, open ones unless `all`.
    @Sendable func conflicts(request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let includeResolved: Bool
        switch request.uri.queryParameters["all"].map({ $0.lowercased() }) {
        case nil, "false", "0": includeResolved = false
        case "true", "1", "": includeResolved = true
        default: throw ServerError(.badQuery, "all: expected true or false")
        }
        let list = try await store.conflicts(for: principal, includeResolved: includeResolved)
        return JSONResponse.make(.array(list.map(\.json)), for: request)
    }

    /// `POST /v1/conflicts/{id}/resolve` with `{"keep": "current"|"incoming"}` or `{"value": V}`
    /// → the conflict as it now stands.
    @Sendable func resolve(request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        guard let id = context.parameters.get("id"), !id.isEmpty else {
            throw ServerError(.notFound, "no such conflict")
        }
        let body = try await RequestBodyReader.json(from: request, context: context)
        let resolution: Resolution
        do {
            resolution = try Resolution(json: body)
        } catch {
            throw ServerError.badJSON(error.message)
        }
        let conflict = try await store.resolve(conflict: id, with: resolution, by: principal, now: clock())
        return JSONResponse.make(conflict.json, for: request)
    }

    /// `POST /v1/devices` with ``DeviceRegistration`` → ``RegisteredDevice``.
    @Sendable func registerDevice(request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let body = try await RequestBodyReader.json(from: request, context: context)
        let registration: DeviceRegistration
        do {
            registration = try DeviceRegistration(json: body)
        } catch {
            throw ServerError.badJSON(error.message)
        }
        let registered = try await store.registerDevice(
            registration.device, publicKey: registration.publicKey, by: principal, now: clock())
        return JSONResponse.make(registered.json, for: request)
    }

    /// History lines read per store transaction while streaming.
    static let historyPage = 1000

    /// `GET /v1/history?since=SEQ&limit=N` → NDJSON, one entry a line (SPEC §8), streamed page
    /// by page: the whole history is never in memory. Without `limit`, everything after `since`.
    @Sendable func history(request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let query = request.uri.queryParameters
        let since = try integer(
            query["since"].map(String.init), range: 0...Int64.max, default: 0,
            otherwise: "since: expected a seq, an integer of 0 or more")
        let limit = try integer(
            query["limit"].map(String.init), range: 1...Int64.max, default: Int64.max,
            otherwise: "limit: expected an integer of 1 or more")
        // `values=true`: each line with the personal values beside its entry, for a token that
        // receives them (SPEC §8); without it, lines are the entries exactly as SPEC §8 hashes them.
        let reader: Principal? =
            switch query["values"].map({ $0.lowercased() }) {
            case nil, "false", "0": nil
            case "true", "1", "": principal
            default: throw ServerError(.badQuery, "values: expected true or false")
            }
        // The first page is read before answering, so that a failing store is a 503, not a cut stream.
        let store = store
        @Sendable func read(since: Int64, limit: Int) async throws -> [HistoryLine] {
            guard let reader else { return try await store.history(since: since, limit: limit) }
            return try await store.history(since: since, limit: limit, for: reader)
        }
        let first = try await read(since: since, limit: Int(min(limit, Int64(Self.historyPage))))
        let headers: HTTPFields = [.contentType: "application/x-ndjson"]
        let body = ResponseBody { writer in
            var page = first
            var sent: Int64 = 0
            var cursor = since
            while !page.isEmpty {
                var buffer = ByteBuffer()
                for entry in page {
                    buffer.writeString(entry.line)
                    buffer.writeInteger(UInt8(ascii: "\n"))
                }
                try await writer.write(buffer)
                sent += Int64(page.count)
                cursor = page.last?.seq ?? cursor
                guard sent < limit, page.count == Self.historyPage else { break }
                page = try await read(since: cursor, limit: Int(min(limit - sent, Int64(Self.historyPage))))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// `POST /v1/erase` with `{"table", "record_id"}` → `{"seq", "version", "erased", "unerasable"}`
    /// (coordinators; SPEC §8, `tandem erase`).
    @Sendable func erase(request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let body = try await RequestBodyReader.json(from: request, context: context)
        let erase: EraseRequest
        do {
            erase = try EraseRequest(json: body)
        } catch {
            throw ServerError.badJSON(error.message)
        }
        let response = try await store.erase(erase, by: principal, now: clock())
        return JSONResponse.make(response.json, for: request)
    }

    /// `GET /v1/checkpoint[?seq=N[&hash=H&time=T&signature=S]]` → `{"seq", "hash", "time",
    /// "public_key", "signature"}`: the head, or the entry `seq` (the head when the history ends
    /// before it). A presented checkpoint the history no longer holds is kept as a
    /// ``RollbackReport`` and logged as critical (docs/operations.md).
    @Sendable func checkpoint(request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let parameters = request.uri.queryParameters
        let query: CheckpointQuery
        do {
            query = try CheckpointQuery { name throws(Never) in parameters[Substring(name)].map(String.init) }
        } catch {
            throw ServerError(.badQuery, error.message)
        }
        guard let seq = query.seq else {
            return JSONResponse.make(try await store.checkpoint(now: clock()).json, for: request)
        }
        let (checkpoint, report) = try await store.checkpoint(
            at: seq, presenting: query.presented, by: principal, now: clock())
        if let report {
            context.logger.critical(
                "THE STORE'S HISTORY WENT BACK: \(report.summary) (docs/operations.md; tandem-server verify)")
        }
        return JSONResponse.make(checkpoint.json, for: request)
    }

    /// `GET /v1/bundle?for=ORG&since=SEQ` → an incoming bundle's lines (NDJSON, signed by the
    /// server's key): what a member token of ORG would pull after SEQ (coordinators only;
    /// docs/sync.md, Bundles).
    @Sendable func bundle(request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        let query = request.uri.queryParameters
        guard let organisation = query["for"].map(String.init), Identifier.isUUID(organisation) else {
            throw ServerError(.badQuery, "for: expected an organisation id")
        }
        let since = try integer(
            query["since"].map(String.init), range: 0...Int64.max, default: 0,
            otherwise: "since: expected a seq, an integer of 0 or more")
        let text = try await store.incomingBundle(for: organisation, since: since, by: principal, now: clock())
        var buffer = ByteBuffer()
        buffer.writeBytes(text)
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody(byteBuffer: buffer))
    }

    /// `GET /v1/digest` → `{"tables": [{"table", "records", "digest"}, …]}`: per schema table, the
    /// live records the token may see (as its pulls deliver them), counted and digested
    /// (``TableDigest``), for `tandem check`.
    @Sendable func digest(request: Request, context: Context) async throws -> Response {
        let principal = try context.requirePrincipal()
        return JSONResponse.make(try await store.digests(for: principal).json, for: request)
    }

    // MARK: - Checks

    /// A query parameter as an integer within `range`, `fallback` when absent.
    private func integer(
        _ text: String?, range: ClosedRange<Int64>, default fallback: Int64, otherwise message: String
    ) throws(ServerError) -> Int64 {
        guard let text else { return fallback }
        guard let value = Int64(text), range.contains(value) else {
            throw ServerError(.badQuery, message)
        }
        return value
    }
}
