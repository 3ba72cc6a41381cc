/// One endpoint of the HTTP API (SPEC §4), written once: its method and path, who may call it,
/// what it reads and answers, and the errors it may give. The server registers its routes from
/// these, the OpenAPI document is generated from them, and the client builds its requests with
/// them.
///
/// ```swift
/// Endpoint.resolve.path                      // "/v1/conflicts/{id}/resolve"
/// Endpoint.resolve.path(filling: ["id": id]) // "/v1/conflicts/0193…/resolve"
/// Endpoint.push.callers                      // [.member, .coordinator]
/// ```
public struct Endpoint: Hashable, Sendable {
    public enum Method: String, Hashable, Sendable {
        case get = "GET"
        case post = "POST"
    }

    /// What travels in a body.
    public enum Body: Hashable, Sendable {
        /// A JSON message, by its name in the document's components (``WireMessage``).
        case message(String)
        /// A JSON array of messages.
        case messages(String)
        /// Lines of JSON (`application/x-ndjson`), one a line.
        case ndjson
        /// Any other media type, with a word on what it holds.
        case other(mediaType: String, schema: String)

        public static func message(_ type: any WireMessage.Type) -> Body { .message(type.schemaName) }
        public static func messages(_ type: any WireMessage.Type) -> Body { .messages(type.schemaName) }
    }

    /// A query or path parameter.
    public struct Parameter: Hashable, Sendable {
        public enum Place: String, Hashable, Sendable { case query, path }
        public var name: String
        public var place: Place
        public var isRequired: Bool
        public var description: String
        /// Its JSON Schema, as text.
        public var schema: String

        public init(
            _ name: String, in place: Place = .query, required: Bool = false, _ description: String, schema: String
        ) {
            self.name = name
            self.place = place
            isRequired = required || place == .path
            self.description = description
            self.schema = schema
        }
    }

    public var method: Method
    /// The path, a parameter as `{name}`: `/v1/conflicts/{id}/resolve`.
    public var path: String
    /// The roles whose tokens may call it; nil for an endpoint that needs no token.
    public var callers: Set<Role>?
    /// What a refused role may not do, for its 403 message: "push changes".
    public var action: String
    /// The OpenAPI operation id.
    public var operationID: String
    public var summary: String
    public var details: String?
    public var parameters: [Parameter]
    public var request: Body?
    public var response: Body
    public var responseDescription: String
    /// The errors it may answer besides those every authenticated endpoint may (`unauthorized`,
    /// `rate_limited`, `unavailable`).
    public var errors: [ErrorCode]
    /// The per-token rate limit it counts against (SPEC §4), if any.
    public var limit: Limit? = nil

    /// The two per-token rate limits.
    public enum Limit: String, Hashable, Sendable {
        /// Writes: pushes, device registrations.
        case push
        /// Reads that walk the history or the records: pulls, history, checkpoints, bundles, digests.
        case pull
    }

    /// The path's segments; a parameter as `:name`, as Hummingbird's router writes it.
    public var routeSegments: [String] {
        path.split(separator: "/").map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : String(segment)
        }
    }

    /// The path with each `{name}` replaced by `values[name]` (escaped by the caller).
    public func path(filling values: [String: String]) -> String {
        "/" + routeSegments.map { $0.hasPrefix(":") ? values[String($0.dropFirst())] ?? "" : $0 }.joined(separator: "/")
    }

    /// Whether a token of `role` may call it.
    public func admits(_ role: Role) -> Bool { callers?.contains(role) ?? true }
}

extension Endpoint {
    private static let everyRole: Set<Role> = [.member, .coordinator, .auditor]
    private static let editors: Set<Role> = [.member, .coordinator]
    private static let overseers: Set<Role> = [.coordinator, .auditor]
    private static let body: [ErrorCode] = [.badJSON, .tooLarge, .unsupportedMediaType, .unsupportedEncoding]
    private static let seqSchema =
        #"{"type": "integer", "format": "int64", "minimum": 0, "maximum": 9223372036854775807, "default": 0}"#

    /// `GET /healthz`: liveness, no token.
    public static let healthz = Endpoint(
        method: .get, path: "/healthz", callers: nil, action: "", operationID: "healthz", summary: "Liveness.",
        details: nil, parameters: [], request: nil, response: .message("Health"), responseDescription: "Serving.",
        errors: [])

    /// `GET /openapi.json`: the document generated from ``all``, no token.
    public static let openAPI = Endpoint(
        method: .get, path: "/openapi.json", callers: nil, action: "", operationID: "openapi",
        summary: "This document.", details: nil, parameters: [], request: nil,
        response: .other(mediaType: "application/json", schema: #"{"type": "object"}"#),
        responseDescription: "The OpenAPI 3.1 document.", errors: [])

    /// `GET /metrics`: the Prometheus text (coordinators, auditors).
    public static let metrics = Endpoint(
        method: .get, path: "/metrics", callers: overseers, action: "read the metrics", operationID: "metrics",
        summary: "The server's metrics in the Prometheus text format (coordinators, auditors).",
        details:
            "Requests by route and status with latency histograms, push results by status and reason class, changes merged, open conflicts, the history's head seq, store transaction latency, rate-limited requests, open connections and build info (docs/operations.md). Not rate limited.",
        parameters: [], request: nil,
        response: .other(mediaType: "text/plain; version=0.0.4", schema: #"{"type": "string"}"#),
        responseDescription: "The exposition text, format 0.0.4.", errors: [.forbidden])

    /// `GET /v1/whoami` → ``WhoAmI``.
    public static let whoami = Endpoint(
        method: .get, path: "/v1/whoami", callers: everyRole, action: "", operationID: "whoami",
        summary: "Who the token stands for.", details: nil, parameters: [], request: nil,
        response: .message(WhoAmI.self), responseDescription: "The token's organisation and role.", errors: [])

    /// `GET /v1/schema` → the schema document.
    public static let schema = Endpoint(
        method: .get, path: "/v1/schema", callers: everyRole, action: "", operationID: "schema",
        summary: "The schema document.", details: nil, parameters: [], request: nil,
        response: .message("SchemaDocument"), responseDescription: "The schema.", errors: [])

    /// `POST /v1/push` ``PushRequest`` → ``PushResponse`` (members, coordinators).
    public static let push = Endpoint(
        method: .post, path: "/v1/push", callers: editors, action: "push changes", operationID: "push",
        summary: "Push changes: one result a change, in order; 200 even when every change is rejected.",
        details:
            "Members and coordinators. The body may be gzip (Content-Encoding) and is at most the configured limit (default 16 MiB) before and after decompression; a malformed body writes nothing.",
        parameters: [], request: .message(PushRequest.self), response: .message(PushResponse.self),
        responseDescription: "One result a change.",
        errors: body + [.plainPersonalValue, .forbidden, .tooManyChanges, .tooManyDevices, .valueTooLarge], limit: .push
    )

    /// `GET /v1/pull?since=SEQ&limit=N` → ``PullResponse``.
    public static let pull = Endpoint(
        method: .get, path: "/v1/pull", callers: everyRole, action: "", operationID: "pull",
        summary: "Log entries after `since` the token may see, with their records as they now stand.", details: nil,
        parameters: [
            Parameter("since", "The last seq already pulled.", schema: seqSchema),
            Parameter(
                "limit", "The most items to return.",
                schema:
                    #"{"type": "integer", "minimum": 1, "maximum": \#(WireProtocol.maximumPullLimit), "default": \#(WireProtocol.defaultPullLimit)}"#
            ),
        ],
        request: nil, response: .message(PullResponse.self), responseDescription: "A page of items.",
        errors: [.badQuery], limit: .pull)

    /// `GET /v1/conflicts[?all=true]` → [``ConflictInfo``].
    public static let conflicts = Endpoint(
        method: .get, path: "/v1/conflicts", callers: everyRole, action: "", operationID: "conflicts",
        summary: "Conflicts on records the token may see: open ones, or all.", details: nil,
        parameters: [Parameter("all", "true: resolved ones too.", schema: #"{"type": "boolean", "default": false}"#)],
        request: nil, response: .messages(ConflictInfo.self), responseDescription: "The conflicts.",
        errors: [.badQuery])

    /// `POST /v1/conflicts/{id}/resolve` ``Resolution`` → ``ConflictInfo``.
    public static let resolve = Endpoint(
        method: .post, path: "/v1/conflicts/{id}/resolve", callers: editors, action: "resolve conflicts",
        operationID: "resolve", summary: "Settle an open conflict (coordinators and the record's owners).",
        details: nil,
        parameters: [Parameter("id", in: .path, "The conflict's id.", schema: #"{"type": "string"}"#)],
        request: .message(Resolution.self), response: .message(ConflictInfo.self),
        responseDescription: "The conflict as it now stands.",
        errors: body + [.forbidden, .notFound, .resolved, .deleted, .rejected])

    /// `POST /v1/devices` ``DeviceRegistration`` → ``RegisteredDevice`` (members, coordinators).
    public static let devices = Endpoint(
        method: .post, path: "/v1/devices", callers: editors, action: "register devices",
        operationID: "registerDevice",
        summary:
            "Register a device's Ed25519 key for the token's organisation (members, coordinators); a history entry. Registering the same again answers the first registration.",
        details: nil, parameters: [], request: .message(DeviceRegistration.self),
        response: .message(RegisteredDevice.self), responseDescription: "The registration.",
        errors: body + [.badDevice, .badPublicKey, .forbidden, .deviceExists], limit: .push)

    /// `GET /v1/history?since=SEQ&limit=N&values=BOOL` → NDJSON (auditors, coordinators).
    public static let history = Endpoint(
        method: .get, path: "/v1/history", callers: overseers, action: "read the history", operationID: "history",
        summary: "The full history (auditors, coordinators): NDJSON, one entry a line, in seq order, streamed.",
        details: nil,
        parameters: [
            Parameter("since", "The last seq already held.", schema: seqSchema),
            Parameter(
                "limit", "The most entries to return; all when absent.",
                schema: #"{"type": "integer", "format": "int64", "minimum": 1, "maximum": 9223372036854775807}"#),
            Parameter(
                "values",
                "true: each line ends with the personal values beside its entry (SPEC §8), for a token that receives them; they are not part of the hashed entry.",
                schema: #"{"type": "boolean", "default": false}"#),
        ],
        request: nil, response: .ndjson,
        responseDescription:
            "Entries `{seq, time, author, change, outcome, prev_hash, hash}`, one RFC 8785 text a line; with values=true, for a token that receives personal values, a line whose entry commits to some ends with `values` (Openings), which is not part of the hashed entry (SPEC §8).",
        errors: [.badQuery, .forbidden], limit: .pull)

    /// `POST /v1/erase` ``EraseRequest`` → ``EraseResponse`` (coordinators).
    public static let erase = Endpoint(
        method: .post, path: "/v1/erase", callers: [.coordinator], action: "erase personal data",
        operationID: "erase",
        summary:
            "Erase a record's personal data (coordinators; SPEC §8, tandem erase): the record and its id stay, its personal fields become null, later changes to it are rejected erased; the values and salts leave the store; every hash and signature still verifies.",
        details: nil, parameters: [], request: .message(EraseRequest.self), response: .message(EraseResponse.self),
        responseDescription: "The erasure's entry.",
        errors: body + [.forbidden, .notFound, .deleted, .erased, .noPersonalData, .rejected])

    /// `GET /v1/checkpoint[?seq=N[&hash=H&time=T&signature=S]]` → ``Checkpoint``.
    public static let checkpoint = Endpoint(
        method: .get, path: "/v1/checkpoint", callers: everyRole, action: "", operationID: "checkpoint",
        summary:
            "The history's head, signed by the server's key; with seq, the entry seq signed (the head when the history ends before it).",
        details:
            "With hash, time and signature the caller presents the checkpoint of seq it holds (from a pull page, or an auditor's kept one); one signed by this server that the history no longer holds is kept as a rollback report and logged (tandem-server verify). Give all three, with seq.",
        parameters: [
            Parameter(
                "seq", "The entry to sign.",
                schema: #"{"type": "integer", "format": "int64", "minimum": 1, "maximum": 9223372036854775807}"#),
            Parameter(
                "hash", "The hash the caller holds for seq.",
                schema: #"{"type": "string", "pattern": "^[0-9a-f]{64}$"}"#),
            Parameter("time", "The time of the checkpoint presented.", schema: #"{"type": "string", "maxLength": 64}"#),
            Parameter(
                "signature", "The server's signature of the checkpoint presented (base64).",
                schema: #"{"type": "string", "maxLength": 128}"#),
        ],
        request: nil, response: .message(Checkpoint.self),
        responseDescription: "The signed head, or the signed entry seq.",
        errors: [.badQuery], limit: .pull)

    /// `GET /v1/bundle?for=ORG&since=SEQ` → an incoming bundle's lines (coordinators).
    public static let bundle = Endpoint(
        method: .get, path: "/v1/bundle", callers: [.coordinator], action: "write bundles for organisations",
        operationID: "bundle",
        summary:
            "An incoming bundle (coordinators): everything a member token of the organisation would pull after `since`, with its conflicts, the schema and the signed checkpoint it reaches, signed by the server's key (docs/sync.md, Bundles). An addition to SPEC §4.",
        details: nil,
        parameters: [
            Parameter(
                "for", required: true, "The organisation's id.",
                schema:
                    #"{"type": "string", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"}"#),
            Parameter("since", "The last seq the organisation's replica holds.", schema: seqSchema),
        ],
        request: nil, response: .ndjson,
        responseDescription:
            "The bundle's lines: a header, one pull item a line, a signed trailer (gzip it to make the file).",
        errors: [.badQuery, .forbidden, .notFound], limit: .pull)

    /// `GET /v1/digest` → ``DigestResponse``.
    public static let digest = Endpoint(
        method: .get, path: "/v1/digest", callers: everyRole, action: "", operationID: "digest",
        summary:
            "Per-table digests of the live records the token may see (visibility as for a pull), for tandem check.",
        details: nil, parameters: [], request: nil, response: .message(DigestResponse.self),
        responseDescription: "One digest a schema table.", errors: [], limit: .pull)

    /// Every endpoint, in the order the document lists them.
    public static let all: [Endpoint] = [
        healthz, openAPI, metrics, whoami, schema, push, pull, conflicts, resolve, devices, history, erase, bundle,
        digest, checkpoint,
    ]
}
