public import TandemProtocol

/// The server's endpoints (SPEC §4) as typed calls over a ``SyncTransport``, and what each HTTP
/// answer means for the CLI.
///
/// | answer | error code | exit |
/// |---|---|---|
/// | cannot connect, timeout | `unavailable` | 69 |
/// | 401, 403 | `notPermitted`, with the server's message | 77 |
/// | 404 | `notFound` | 66 |
/// | 429, 5xx | `temporary` | 75 |
/// | other 4xx | `invalidData`, with the server's `{"error", "message"}` | 65 |
/// | 2xx whose body is not what was expected | `internal` | 70 |
///
/// ```swift
/// let api = SyncAPI(transport: try CurlTransport(server: url, token: token))
/// let me = try api.whoAmI()   // WhoAmI(organisation: "0193…", role: .member)
/// ```
public struct SyncAPI: Sendable {
    public let transport: any SyncTransport

    public init(transport: any SyncTransport) { self.transport = transport }

    /// `GET /v1/whoami`: who the token is.
    public func whoAmI() throws(ReplicaError) -> WhoAmI {
        try decode(send(TransportRequest(method: .get, path: "/v1/whoami"))) { json throws(ProtocolError) in
            try WhoAmI(json: json)
        }
    }

    /// `GET /v1/schema`: the schema the server merges with.
    public func schema() throws(ReplicaError) -> Schema {
        let request = TransportRequest(method: .get, path: "/v1/schema")
        let response = try send(request)
        do {
            return try Schema.decode(response.body)
        } catch {
            throw ReplicaError(.internal, "the server's schema (\(request.line)) is not valid: \(error.message)")
        }
    }

    /// `POST /v1/push`: one result per change, in order.
    ///
    /// - Throws: `internal` when the answer does not have one result per change.
    public func push(_ changes: [Change]) throws(ReplicaError) -> [PushResult] {
        let body = Array(PushRequest(changes: changes).json.serialized().utf8)
        let request = TransportRequest(method: .post, path: "/v1/push", body: body)
        let results = try decode(send(request), of: request) { json throws(ProtocolError) in
            try PushResponse(json: json).results
        }
        guard results.count == changes.count else {
            throw ReplicaError(
                .internal, "the server answered \(results.count) results for \(changes.count) changes pushed")
        }
        return results
    }

    /// `GET /v1/pull?since=SEQ&limit=N`: the next page of the log.
    public func pull(since: Int64, limit: Int) throws(ReplicaError) -> PullResponse {
        let request = TransportRequest(
            method: .get, path: "/v1/pull", query: [.init("since", String(since)), .init("limit", String(limit))])
        return try decode(send(request), of: request) { json throws(ProtocolError) in try PullResponse(json: json) }
    }

    /// `GET /v1/conflicts` (open ones) or `GET /v1/conflicts?all=true`.
    public func conflicts(includeResolved: Bool) throws(ReplicaError) -> [ConflictInfo] {
        let request = TransportRequest(
            method: .get, path: "/v1/conflicts", query: includeResolved ? [.init("all", "true")] : [])
        return try decode(send(request), of: request) { json throws(ProtocolError) in try Self.conflicts(json) }
    }

    /// `POST /v1/conflicts/{id}/resolve`: the conflict as it is after the decision.
    public func resolve(conflict id: String, with resolution: Resolution) throws(ReplicaError) -> ConflictInfo {
        let request = TransportRequest(
            method: .post, path: "/v1/conflicts/\(CurlTransport.escape(id))/resolve",
            body: Array(resolution.json.serialized().utf8))
        return try decode(send(request), of: request) { json throws(ProtocolError) in
            // The answer is the conflict, or (as `GET /v1/conflicts`) an array holding it.
            if case .array = json, let match = try Self.conflicts(json).first(where: { $0.id == id }) { return match }
            return try ConflictInfo(json: json)
        }
    }

    // MARK: - Answers

    private static func conflicts(_ json: JSONValue) throws(ProtocolError) -> [ConflictInfo] {
        let items: [JSONValue]
        switch json {
        case let .array(list): items = list
        case let .object(members):
            // Tolerate a wrapped answer, {"conflicts": […]}.
            guard case let .array(list)? = members.first(where: { $0.key == "conflicts" })?.value else {
                throw ProtocolError(.invalidJSON, "expected an array of conflicts")
            }
            items = list
        default: throw ProtocolError(.invalidJSON, "expected an array of conflicts")
        }
        var conflicts: [ConflictInfo] = []
        for item in items { conflicts.append(try ConflictInfo(json: item)) }
        return conflicts
    }

    /// Sends `request`, returning a 2xx answer and turning any other into a ``ReplicaError``.
    func send(_ request: TransportRequest) throws(ReplicaError) -> TransportResponse {
        let response: TransportResponse
        do {
            response = try transport.send(request)
        } catch let error as ReplicaError {
            throw error
        } catch {
            throw ReplicaError(.unavailable, "cannot reach the server: \(error)")
        }
        if (200..<300).contains(response.status) { return response }
        throw Self.error(for: response, of: request)
    }

    /// What a non-2xx answer means (see the table above).
    static func error(for response: TransportResponse, of request: TransportRequest) -> ReplicaError {
        let body = (try? JSONValue.parse(bytes: response.body)).flatMap { try? ErrorBody(json: $0) }
        let said = body.map { "\($0.message) (\($0.error))" } ?? plainText(response.body)
        let detail = said.isEmpty ? "HTTP \(response.status)" : said
        switch response.status {
        case 401: return ReplicaError(.notPermitted, "the server refused the token: \(detail)")
        case 403: return ReplicaError(.notPermitted, "not permitted: \(detail)")
        case 404: return ReplicaError(.notFound, "\(request.line): \(detail)")
        case 429, 503: return ReplicaError(.temporary, "the server is busy; try again later: \(detail)")
        case 500..<600:
            return ReplicaError(.temporary, "the server failed (HTTP \(response.status)); try again: \(detail)")
        default: return ReplicaError(.invalidData, "the server refused \(request.line): \(detail)")
        }
    }

    private static func plainText(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
    }

    private func decode<T>(
        _ response: TransportResponse, of request: TransportRequest? = nil,
        _ read: (JSONValue) throws(ProtocolError) -> T
    ) throws(ReplicaError) -> T {
        do {
            return try read(try JSONValue.parse(bytes: response.body))
        } catch {
            let place = request.map { " to \($0.line)" } ?? ""
            throw ReplicaError(.internal, "unexpected answer from the server\(place): \(error.message)")
        }
    }
}
