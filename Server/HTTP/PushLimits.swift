import TandemProtocol

/// The identifier sizes a push may not exceed beyond the body limit (the schema's ``ChangeLimits``):
/// a push carrying an identifier over `identifierBytes` is refused whole
/// (413 `value_too_large`, nothing written), before the store sees it — no honest client makes
/// one, and a change whose id is unbounded cannot be answered or logged on its own. A field value
/// over `valueBytes` is not checked here: the merge refuses that change alone
/// (reason `value_too_large`), and the rest of the push goes through.
enum PushLimits {
    /// Checks every change of a push.
    ///
    /// - Throws: ``ServerError`` `value_too_large` naming where (`changes[3].record_id`), never
    ///   the value.
    static func check(_ changes: [Change], within limits: ChangeLimits) throws(ServerError) {
        for (index, change) in changes.enumerated() {
            if let place = limits.oversizedIdentifier(in: change) {
                throw ServerError(
                    .valueTooLarge,
                    "changes[\(index)]: \(place): identifiers may be at most \(limits.identifierBytes) bytes")
            }
        }
    }

    /// Checks the device registrations a push carries (``CarriedDevice``): at most one a change,
    /// each identifier within the limit.
    static func check(_ devices: [CarriedDevice], carriedWith changes: [Change], within limits: ChangeLimits)
        throws(ServerError)
    {
        if devices.count > max(changes.count, 1) {
            throw ServerError(
                .tooManyDevices, "a push may carry at most one device registration a change")
        }
        for (index, device) in devices.enumerated() {
            for (name, text) in [
                ("device", device.device), ("public_key", device.publicKey),
                ("organisation", device.organisation),
            ] where text.utf8.count > limits.identifierBytes {
                throw ServerError(
                    .valueTooLarge,
                    "devices[\(index)].\(name): identifiers may be at most \(limits.identifierBytes) bytes")
            }
        }
    }
}
