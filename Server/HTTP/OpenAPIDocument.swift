import TandemProtocol

/// The OpenAPI 3.1 document of the HTTP API, served at `GET /openapi.json` (no token needed),
/// generated from the contract as Protocol writes it: the paths from ``Endpoint/all``, the
/// messages' schemas from ``WireSchemas``, the error answers from ``ErrorCode``. Nothing here is
/// written beside the code it describes (scripts/schemathesis.sh checks the live server's
/// answers against it).
enum OpenAPIDocument {
    /// The document, built once.
    static let json: JSONValue = document()

    private static func document() -> JSONValue {
        .object([
            JSONMember("openapi", .string("3.1.0")),
            JSONMember(
                "info",
                .object([
                    JSONMember("title", .string("Tandem sync API")),
                    JSONMember("version", .string(String(WireProtocol.version))),
                    JSONMember("description", .string(description)),
                ])),
            JSONMember("security", .array([.object([JSONMember("bearerAuth", .array([]))])])),
            JSONMember("paths", paths()),
            JSONMember(
                "components",
                .object([
                    JSONMember(
                        "securitySchemes",
                        .object([
                            JSONMember(
                                "bearerAuth",
                                .object([
                                    JSONMember("type", .string("http")), JSONMember("scheme", .string("bearer")),
                                    JSONMember(
                                        "description",
                                        .string("A token from tandem-server init, org add or token issue.")),
                                ]))
                        ])),
                    JSONMember("schemas", .object(WireSchemas.all.map { JSONMember($0.name, parsed($0.schema)) })),
                ])),
        ])
    }

    private static let description =
        "The tandem-server HTTP API (SPEC §4). JSON everywhere; gzip accepted (Content-Encoding) and sent (Accept-Encoding). Every 4xx answer is {\"error\": CODE, \"message\": …}, the status following from the code. A known path asked with another method is 405 with Allow. Connections idle longer than the server's idle timeout (default 30 s) are closed. Every answer, errors included, carries the server's clock in the header \(WireProtocol.serverTimeHeader): whole milliseconds since the Unix epoch."

    /// One member a path, each with its one operation.
    private static func paths() -> JSONValue {
        .object(
            Endpoint.all.map { endpoint in
                JSONMember(
                    endpoint.path, .object([JSONMember(endpoint.method.rawValue.lowercased(), operation(endpoint))]))
            })
    }

    private static func operation(_ endpoint: Endpoint) -> JSONValue {
        var members = [
            JSONMember("operationId", .string(endpoint.operationID)),
            JSONMember("summary", .string(endpoint.summary)),
        ]
        if let details = endpoint.details { members.append(JSONMember("description", .string(details))) }
        if endpoint.callers == nil { members.append(JSONMember("security", .array([]))) }
        if !endpoint.parameters.isEmpty {
            members.append(JSONMember("parameters", .array(endpoint.parameters.map(parameter))))
        }
        if let request = endpoint.request {
            members.append(
                JSONMember(
                    "requestBody",
                    .object([JSONMember("required", .bool(true)), JSONMember("content", content(request))])))
        }
        var responses = [
            JSONMember(
                "200",
                .object([
                    JSONMember("description", .string(endpoint.responseDescription)),
                    JSONMember("content", content(endpoint.response)),
                ]))
        ]
        for (status, codes) in errorStatuses(of: endpoint) {
            responses.append(JSONMember(String(status), errorResponse(status: status, codes: codes)))
        }
        members.append(JSONMember("responses", .object(responses)))
        return .object(members)
    }

    /// The statuses an endpoint may answer besides 200, with their codes, in order: its own, and
    /// those of the layers every request passes (authentication, rate limits, the store).
    private static func errorStatuses(of endpoint: Endpoint) -> [(Int, [ErrorCode])] {
        var codes = endpoint.errors
        if endpoint.callers != nil { codes.append(.unauthorized) }
        if endpoint.limit != nil { codes.append(.rateLimited) }
        if endpoint.callers != nil { codes.append(.unavailable) }
        let statuses = Set(codes.map(\.httpStatus)).sorted()
        return statuses.map { status in (status, codes.filter { $0.httpStatus == status }) }
    }

    private static func errorResponse(status: Int, codes: [ErrorCode]) -> JSONValue {
        var members = [
            JSONMember(
                "description", .string(codes.map { "`\($0.rawValue)`" }.joined(separator: ", "))),
            JSONMember(
                "content",
                .object([
                    JSONMember(
                        "application/json",
                        .object([JSONMember("schema", reference(ErrorBody.schemaName))]))
                ])),
        ]
        let header: String? =
            switch status {
            case 401: "WWW-Authenticate"
            case 429: "Retry-After"
            case 405: "Allow"
            default: nil
            }
        if let header {
            members.insert(
                JSONMember(
                    "headers",
                    .object([
                        JSONMember(
                            header, .object([JSONMember("schema", .object([JSONMember("type", .string("string"))]))]))
                    ])), at: 1)
        }
        return .object(members)
    }

    private static func parameter(_ parameter: Endpoint.Parameter) -> JSONValue {
        .object([
            JSONMember("name", .string(parameter.name)), JSONMember("in", .string(parameter.place.rawValue)),
            JSONMember("required", .bool(parameter.isRequired)),
            JSONMember("description", .string(parameter.description)),
            JSONMember("schema", parsed(parameter.schema)),
        ])
    }

    private static func content(_ body: Endpoint.Body) -> JSONValue {
        let (mediaType, schema): (String, JSONValue) =
            switch body {
            case let .message(name): ("application/json", reference(name))
            case let .messages(name):
                (
                    "application/json",
                    .object([JSONMember("type", .string("array")), JSONMember("items", reference(name))])
                )
            case .ndjson: ("application/x-ndjson", .object([JSONMember("type", .string("string"))]))
            case let .other(mediaType, schema): (mediaType, parsed(schema))
            }
        return .object([JSONMember(mediaType, .object([JSONMember("schema", schema)]))])
    }

    private static func reference(_ name: String) -> JSONValue {
        .object([JSONMember("$ref", .string("#/components/schemas/\(name)"))])
    }

    /// A schema's text as JSON (a test checks every one parses: a broken one is a build mistake,
    /// not something a request can cause).
    private static func parsed(_ text: String) -> JSONValue {
        (try? JSONValue.parse(text)) ?? .object([JSONMember("description", .string("unparsable schema"))])
    }
}
