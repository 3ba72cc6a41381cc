public import TandemProtocol

/// The seam between the sync engine and the network: one HTTP exchange, as plain values.
///
/// ``CurlTransport`` talks to a real server; tests pass their own (a fake server, a transport
/// that drops messages). A transport that cannot deliver a request or read its answer throws a
/// ``ReplicaError`` with code `unavailable`; any answer the server gives, whatever its status,
/// is returned, and ``SyncAPI`` decides what it means.
///
/// ```swift
/// let transport = CurlTransport(server: "https://tandem.example.org", token: token)
/// let response = try transport.send(TransportRequest(.whoami))
/// response.status  // 200
/// ```
public protocol SyncTransport: Sendable {
    /// Sends one request and returns the server's answer.
    ///
    /// - Throws: ``ReplicaError`` `unavailable` when the server cannot be reached or the exchange
    ///   was cut; nothing else for an answer the server did give.
    func send(_ request: TransportRequest) throws -> TransportResponse
}

/// One HTTP request, relative to the transport's server.
public struct TransportRequest: Hashable, Sendable {
    public typealias Method = Endpoint.Method

    /// One `name=value` pair of the query string (encoded by the transport).
    public struct QueryItem: Hashable, Sendable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var method: Method
    /// The path, starting with `/` (`/v1/pull`).
    public var path: String
    public var query: [QueryItem]
    /// The body (JSON for Tandem's endpoints); empty for a GET.
    public var body: [UInt8]
    /// Extra headers; the transport adds authorisation and encodings.
    public var headers: [String: String]

    public init(
        method: Method, path: String, query: [QueryItem] = [], body: [UInt8] = [], headers: [String: String] = [:]
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.headers = headers
    }

    /// A request to `endpoint`, its path parameters filled from `parameters` (escaped here).
    public init(
        _ endpoint: Endpoint, parameters: [String: String] = [:], query: [QueryItem] = [], body: [UInt8] = []
    ) {
        assert(
            query.allSatisfy { item in endpoint.parameters.contains { $0.name == item.name && $0.place == .query } },
            "\(endpoint.path) takes no such query parameter: \(query.map(\.name))")
        self.init(
            method: endpoint.method, path: endpoint.path(filling: parameters.mapValues(CurlTransport.escape)),
            query: query, body: body)
    }

    /// `METHOD /path?query`, for messages.
    public var line: String {
        let query = self.query.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        return "\(method.rawValue) \(path)\(query.isEmpty ? "" : "?" + query)"
    }
}

/// The server's answer: status, headers (names in lowercase) and body (already decompressed).
public struct TransportResponse: Hashable, Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}
