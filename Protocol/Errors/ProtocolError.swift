/// The one error type of TandemProtocol: a rule that a schema, a value or a record breaks.
///
/// `code` says what kind of rule; `table` and `field` name where; `message` is one line a
/// person can act on. Codes are structs wrapping a private enum so that adding one breaks nobody.
///
/// ```swift
/// do { try table.validate(record) } catch { print(error.message) }  // "exchange.ends_on: …"
/// ```
public struct ProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidSchema, unknownTable, unknownField, invalidValue, missingField, checkFailed, invalidJSON
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The schema document itself is malformed or inconsistent.
        public static let invalidSchema = Code(.invalidSchema)
        /// A table the schema does not have.
        public static let unknownTable = Code(.unknownTable)
        /// A field the table does not have.
        public static let unknownField = Code(.unknownField)
        /// A value of the wrong type, format or enum member.
        public static let invalidValue = Code(.invalidValue)
        /// A required field is absent or null.
        public static let missingField = Code(.missingField)
        /// A check across fields (such as `ends_on` ≥ `starts_on`) fails.
        public static let checkFailed = Code(.checkFailed)
        /// Text that is not the JSON it should be.
        public static let invalidJSON = Code(.invalidJSON)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var table: String?
    public var field: String?
    /// One line, naming table and field, that says what is wrong.
    public var message: String

    public init(_ code: Code, table: String? = nil, field: String? = nil, _ reason: String) {
        self.code = code
        self.table = table
        self.field = field
        switch (table, field) {
        case let (table?, field?): message = "\(table).\(field): \(reason)"
        case let (table?, nil): message = "\(table): \(reason)"
        default: message = reason
        }
    }

    public var description: String { message }
}
