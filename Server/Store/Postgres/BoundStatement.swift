import PostgresNIO

/// A statement built a part at a time: each bound value answers with its placeholder (`$n`),
/// so that parts written apart (a batch's fact kinds, its tables) make one statement, one
/// round trip.
struct BoundStatement {
    private(set) var bindings = PostgresBindings()
    private var count = 0

    /// Binds `value` and returns its placeholder.
    mutating func bind<Value: PostgresDynamicTypeEncodable>(_ value: Value) -> String {
        bindings.append(value)
        count += 1
        return "$\(count)"
    }

    /// The query of `sql`, whose placeholders are this statement's.
    func query(_ sql: String) -> PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: bindings) }
}
