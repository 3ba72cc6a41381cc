/// The code of an error answer, `{"error": CODE, "message": …}` (SPEC §4): what went wrong, in a
/// word both sides agree on, and the HTTP status it is sent with.
///
/// The server throws errors by code and the status follows from it at the edge; the client
/// matches codes, never message text. A code the client does not know (from a newer server) is
/// kept as sent, and compares equal only to itself.
///
/// ```swift
/// ErrorCode.deviceExists.rawValue    // "device_exists"
/// ErrorCode.deviceExists.httpStatus  // 409
/// ErrorCode(rawValue: "erased") == .erased  // true
/// ```
public struct ErrorCode: Hashable, Sendable, CustomStringConvertible {
    private enum Base: String, Hashable, Sendable, CaseIterable {
        case badJSON = "bad_json"
        case badQuery = "bad_query"
        case badRequest = "bad_request"
        case badDevice = "bad_device"
        case badPublicKey = "bad_public_key"
        case badRole = "bad_role"
        case badOrganisation = "bad_organisation"
        case plainPersonalValue = "plain_personal_value"
        case noOrganisations = "no_organisations"
        case unauthorized
        case forbidden
        case notFound = "not_found"
        case noOrganisation = "no_organisation"
        case methodNotAllowed = "method_not_allowed"
        case deleted, erased, resolved
        case deviceExists = "device_exists"
        case tooLarge = "too_large"
        case tooManyChanges = "too_many_changes"
        case tooManyDevices = "too_many_devices"
        case valueTooLarge = "value_too_large"
        case unsupportedMediaType = "unsupported_media_type"
        case unsupportedEncoding = "unsupported_encoding"
        case noPersonalData = "no_personal_data"
        case schemaRefused = "schema_refused"
        case rejected
        case rateLimited = "rate_limited"
        case headersTooLarge = "headers_too_large"
        case unavailable

        /// The one table of statuses.
        var status: Int {
            switch self {
            case .badJSON, .badQuery, .badRequest, .badDevice, .badPublicKey, .badRole, .badOrganisation,
                .plainPersonalValue, .noOrganisations:
                400
            case .unauthorized: 401
            case .forbidden: 403
            case .notFound, .noOrganisation: 404
            case .methodNotAllowed: 405
            case .deleted, .erased, .resolved, .deviceExists: 409
            case .tooLarge, .tooManyChanges, .tooManyDevices, .valueTooLarge: 413
            case .unsupportedMediaType, .unsupportedEncoding: 415
            case .noPersonalData, .schemaRefused, .rejected: 422
            case .rateLimited: 429
            case .headersTooLarge: 431
            case .unavailable: 503
            }
        }
    }

    private let base: Base?
    /// The code as sent.
    public let rawValue: String

    private init(_ base: Base) {
        self.base = base
        rawValue = base.rawValue
    }

    /// The code `text` names; one this version does not know is kept as sent (``httpStatus``
    /// then says 400).
    public init(rawValue text: String) {
        base = Base(rawValue: text)
        rawValue = text
    }

    public static func == (left: ErrorCode, right: ErrorCode) -> Bool { left.rawValue == right.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

    public var description: String { rawValue }

    /// The HTTP status an answer with this code has.
    public var httpStatus: Int { base?.status ?? 400 }

    /// Every code this version knows, in a stable order (the OpenAPI document lists them).
    public static var all: [ErrorCode] { Base.allCases.map(ErrorCode.init) }

    // MARK: 400 — the request is malformed

    /// A body that is not JSON, or not the JSON the endpoint reads.
    public static let badJSON = ErrorCode(.badJSON)
    /// A query parameter out of range or malformed.
    public static let badQuery = ErrorCode(.badQuery)
    /// A request that is not valid HTTP, or that the HTTP layer refused.
    public static let badRequest = ErrorCode(.badRequest)
    /// A device id that is not 1 to 128 of `A-Z a-z 0-9 - _` (or is `server`).
    public static let badDevice = ErrorCode(.badDevice)
    /// A device key that is not an Ed25519 public key.
    public static let badPublicKey = ErrorCode(.badPublicKey)
    /// A role no token can have.
    public static let badRole = ErrorCode(.badRole)
    /// An organisation the merge refused (admin commands).
    public static let badOrganisation = ErrorCode(.badOrganisation)
    /// A personal value pushed in the clear (SPEC §8): the whole push is refused.
    public static let plainPersonalValue = ErrorCode(.plainPersonalValue)
    /// A schema without an organisation table (admin commands).
    public static let noOrganisations = ErrorCode(.noOrganisations)

    // MARK: 401, 403 — who is asking

    /// No, unknown or revoked token.
    public static let unauthorized = ErrorCode(.unauthorized)
    /// A role that may not use the endpoint.
    public static let forbidden = ErrorCode(.forbidden)

    // MARK: 404, 405 — what is asked for

    /// No such endpoint, record or conflict.
    public static let notFound = ErrorCode(.notFound)
    /// No such organisation (or none given where one is needed).
    public static let noOrganisation = ErrorCode(.noOrganisation)
    /// A known path asked with another method (the answer carries `Allow`).
    public static let methodNotAllowed = ErrorCode(.methodNotAllowed)

    // MARK: 409 — the state refuses it

    /// The record is deleted.
    public static let deleted = ErrorCode(.deleted)
    /// The record's personal data is erased already.
    public static let erased = ErrorCode(.erased)
    /// The conflict is resolved already.
    public static let resolved = ErrorCode(.resolved)
    /// The device id is registered with another key or for another organisation.
    public static let deviceExists = ErrorCode(.deviceExists)

    // MARK: 413, 415, 422, 429, 431 — the request is refused as it is

    /// A body over the limit, before or after gzip.
    public static let tooLarge = ErrorCode(.tooLarge)
    /// A push with more changes than a push may carry.
    public static let tooManyChanges = ErrorCode(.tooManyChanges)
    /// A push with more device registrations than changes.
    public static let tooManyDevices = ErrorCode(.tooManyDevices)
    /// An identifier over its limit (a field value over its limit is a rejection instead,
    /// ``RejectionReason/valueTooLarge``).
    public static let valueTooLarge = ErrorCode(.valueTooLarge)
    /// A Content-Type other than JSON.
    public static let unsupportedMediaType = ErrorCode(.unsupportedMediaType)
    /// A Content-Encoding other than gzip or identity.
    public static let unsupportedEncoding = ErrorCode(.unsupportedEncoding)
    /// An erasure of a table that holds no personal data.
    public static let noPersonalData = ErrorCode(.noPersonalData)
    /// A schema the server will not move to (admin commands).
    public static let schemaRefused = ErrorCode(.schemaRefused)
    /// A server-made change (a resolution's value, an erasure) that the merge refused.
    public static let rejected = ErrorCode(.rejected)
    /// Over the token's rate limit; the answer carries `Retry-After`.
    public static let rateLimited = ErrorCode(.rateLimited)
    /// Request headers over the server's limit.
    public static let headersTooLarge = ErrorCode(.headersTooLarge)

    // MARK: 503

    /// The store is unavailable (its details stay in the server's log); try again later.
    public static let unavailable = ErrorCode(.unavailable)
}
