import HTTPTypes
public import Hummingbird
import TandemProtocol

extension ServerError: HTTPResponseError {
    /// The status a client sees. Failures of the store itself (`storage`, `unavailable`) are all
    /// 503: the request may be retried, and nothing about the failure leaks out.
    public var status: HTTPResponse.Status {
        kind.status >= 500 ? .serviceUnavailable : HTTPResponse.Status(code: kind.status)
    }

    /// `{"error": CODE, "message": …}`, gzipped when the client accepts it.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONResponse.make(publicBody.json, status: status, for: request)
        if kind == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }

    /// What the client is told: the error itself, except for the store's own failures, whose
    /// details stay in the log.
    var publicBody: ErrorBody {
        kind.status >= 500
            ? ErrorBody(error: "unavailable", message: "the store is unavailable; try again later")
            : ErrorBody(error: code, message: message)
    }
}

extension ServerError {
    /// No, unknown or revoked token.
    static let unauthorized = ServerError(
        .unauthorized, "unauthorized", "a valid token is required (Authorization: Bearer TOKEN)")

    /// A body that is not JSON, or not the JSON the endpoint reads.
    static func badJSON(_ message: String) -> ServerError { ServerError(.badRequest, "bad_json", message) }

    /// A body over the configured limit.
    static func tooLarge(limit: Int) -> ServerError {
        ServerError(.tooLarge, "too_large", "the request body is larger than \(limit) bytes")
    }

    /// A role that may not use the endpoint.
    static func forbidden(_ message: String) -> ServerError { ServerError(.forbidden, "forbidden", message) }
}
