import TandemProtocol

/// The identifier sizes a push may not exceed beyond the body limit (``ChangeLimits``): a push
/// carrying an identifier over ``WireProtocol/maximumIdentifierSize`` bytes is refused whole
/// (413 `value_too_large`, nothing written), before the store sees it — no honest client makes
/// one, and a change whose id is unbounded cannot be answered or logged on its own. A field value
/// over ``WireProtocol/maximumValueSize`` is not checked here: the merge refuses that change alone
/// (reason `value_too_large`), and the rest of the push goes through.
enum PushLimits {
    /// Checks every change of a push.
    ///
    /// - Throws: ``ServerError`` `value_too_large` naming where (`changes[3].record_id`), never
    ///   the value.
    static func check(_ changes: [Change]) throws(ServerError) {
        for (index, change) in changes.enumerated() {
            if let place = ChangeLimits.oversizedIdentifier(in: change) {
                throw ServerError(
                    .tooLarge, ChangeLimits.valueTooLarge,
                    "changes[\(index)]: \(place): identifiers may be at most \(WireProtocol.maximumIdentifierSize) bytes"
                )
            }
        }
    }
}
