/// One `field=value` of the command line: a field name and the text given for it (empty: NULL).
public struct Assignment: Hashable, Sendable {
    public var field: String
    public var text: String

    public init(_ field: String, _ text: String) {
        self.field = field
        self.text = text
    }

    /// Parses `field=value`, splitting at the first `=`.
    ///
    /// - Throws: `usage` when there is no `=` or no field name.
    public init(parsing argument: String) throws(ReplicaError) {
        guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
            throw ReplicaError(.usage, "expected field=value, got \"\(argument)\"")
        }
        self.init(String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }
}
