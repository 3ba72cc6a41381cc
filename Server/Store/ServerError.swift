/// The one error type of TandemServer: an HTTP status, a stable code for scripts, and one line
/// for a person. Never carries a token or a field value.
public struct ServerError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Kind: Hashable, Sendable {
        public let status: Int
        private init(_ status: Int) { self.status = status }

        public static let badRequest = Kind(400)
        public static let unauthorized = Kind(401)
        public static let forbidden = Kind(403)
        public static let notFound = Kind(404)
        public static let methodNotAllowed = Kind(405)
        public static let conflict = Kind(409)
        public static let tooLarge = Kind(413)
        public static let unsupportedMediaType = Kind(415)
        public static let unprocessable = Kind(422)
        public static let tooManyRequests = Kind(429)
        public static let unavailable = Kind(503)
        /// Not an HTTP answer: a failure of the store or of an admin command.
        public static let storage = Kind(500)
    }

    public var kind: Kind
    /// A stable machine-readable code: `bad_json`, `unauthorized`, `forbidden`, `not_found`, …
    public var code: String
    public var message: String

    public init(_ kind: Kind, _ code: String, _ message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
