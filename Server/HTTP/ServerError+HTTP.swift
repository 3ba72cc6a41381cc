import HTTPTypes
public import Hummingbird
import TandemProtocol

extension ServerError: HTTPResponseError {
    /// The status a client sees: the code's (``ErrorCode/httpStatus``), 503 for the store's own
    /// failures (the request may be retried, and nothing about the failure leaks out).
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: publicBody.error.httpStatus) }

    /// `{"error": CODE, "message": …}`, gzipped when the client accepts it.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONResponse.make(publicBody.json, status: status, for: request)
        if code == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }

    /// What the client is told: the error itself, except for the store's own failures, whose
    /// details stay in the log.
    var publicBody: ErrorBody {
        isInternal
            ? ErrorBody(error: .unavailable, message: "the store is unavailable; try again later")
            : ErrorBody(error: code, message: message)
    }
}

extension ServerError {
    /// No, unknown or revoked token.
    static let unauthorized = ServerError(.unauthorized, "a valid token is required (Authorization: Bearer TOKEN)")

    /// A body that is not JSON, or not the JSON the endpoint reads.
    static func badJSON(_ message: String) -> ServerError { ServerError(.badJSON, message) }

    /// A body over the configured limit.
    static func tooLarge(limit: Int) -> ServerError {
        ServerError(.tooLarge, "the request body is larger than \(limit) bytes")
    }

    /// A role that may not use the endpoint.
    static func forbidden(_ message: String) -> ServerError { ServerError(.forbidden, message) }
}
