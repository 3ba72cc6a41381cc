import TandemProtocol

/// The sizes a push may not exceed beyond the body limit: each field value at most
/// ``WireProtocol/maximumValueSize`` bytes of JSON, each identifier at most
/// ``WireProtocol/maximumIdentifierSize`` bytes. A push that breaks either is refused whole
/// (413 `value_too_large`, nothing written), before the store sees it: what the log keeps stays
/// bounded whatever a client sends.
enum PushLimits {
    /// Checks every change of a push.
    ///
    /// - Throws: ``ServerError`` `value_too_large` naming where (`changes[3].fields.notes`),
    ///   never the value.
    static func check(_ changes: [Change]) throws(ServerError) {
        for (index, change) in changes.enumerated() {
            let identifiers = [
                ("change_id", change.changeID), ("table", change.table), ("record_id", change.recordID),
                ("device", change.device), ("hlc", change.hlc), ("signature", change.signature ?? ""),
            ]
            for (name, text) in identifiers where text.utf8.count > WireProtocol.maximumIdentifierSize {
                throw identifierTooLong("changes[\(index)].\(name)")
            }
            for (name, value) in change.fields {
                guard name.utf8.count <= WireProtocol.maximumIdentifierSize else {
                    throw identifierTooLong("a field name of changes[\(index)]")
                }
                guard value.serialized().utf8.count <= WireProtocol.maximumValueSize else {
                    throw ServerError(
                        .tooLarge, "value_too_large",
                        "changes[\(index)].fields.\(name): a value may be at most \(WireProtocol.maximumValueSize) bytes of JSON"
                    )
                }
            }
        }
    }

    private static func identifierTooLong(_ place: String) -> ServerError {
        ServerError(
            .tooLarge, "value_too_large",
            "\(place): identifiers may be at most \(WireProtocol.maximumIdentifierSize) bytes")
    }
}
