import TandemProtocol

/// What a write tells every instance on the database (a `NOTIFY` on ``InstanceCache/channel``,
/// sent by PostgreSQL when the write commits), so that each keeps its ``InstanceCache`` true.
/// One payload an event; the payload is the contract between instances of any version that
/// share a database, so it is defined here once, written and read by the same type.
enum CacheEvent: Hashable, Sendable {
    /// The log reached `head` (a write committed entries).
    case head(LogHead)
    /// The token whose hash is this was revoked.
    case revoked(tokenHash: String)
    /// These records were deleted: the tokens of organisations among them stand for no one now.
    case deleted(records: [String])
    /// Anything a cache holds may have changed (a write too large to name).
    case everything
    /// A schema version was installed.
    case schema
    /// A listener's heartbeat (``CacheListener``): instance `instance`'s `number`th.
    case beat(instance: String, number: UInt64)

    /// The most bytes a payload may have (PostgreSQL refuses 8,000 or more).
    static let maximumPayload = 7_900

    /// The payload that says this event (within ``maximumPayload``: a list of records too long
    /// to say becomes ``everything``).
    var payload: String {
        switch self {
        case let .head(head): return "h \(head.seq) \(head.hash)"
        case let .revoked(hash): return "t \(hash)"
        case let .deleted(records):
            let text = "d " + JSONValue.array(records.map(JSONValue.string)).serialized()
            return text.utf8.count <= Self.maximumPayload ? text : CacheEvent.everything.payload
        case .everything: return "*"
        case .schema: return "s"
        case let .beat(instance, number): return "b \(instance) \(number)"
        }
    }

    /// The event `payload` says; nil for one this version does not know (a newer instance's),
    /// which the listener takes as ``everything``.
    init?(payload: String) {
        let parts = payload.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        switch (parts.first, parts.count) {
        case ("h", 3):
            guard let seq = Int64(parts[1]) else { return nil }
            self = .head(LogHead(seq: seq, hash: parts[2]))
        case ("t", 2): self = .revoked(tokenHash: parts[1])
        case ("d", _):
            guard let list = try? JSONValue.parse(String(payload.dropFirst(2))), case let .array(values) = list
            else { return nil }
            let records = values.compactMap { value -> String? in
                if case let .string(id) = value { return id }
                return nil
            }
            guard records.count == values.count else { return nil }
            self = .deleted(records: records)
        case ("*", 1): self = .everything
        case ("s", 1): self = .schema
        case ("b", 3):
            guard let number = UInt64(parts[2]) else { return nil }
            self = .beat(instance: parts[1], number: number)
        default: return nil
        }
    }

    /// What a batch's writes tell the other instances: the head it reached, and the records it
    /// deleted (an organisation's record among them takes its tokens with it).
    static func of(_ writes: BatchWrites) -> [CacheEvent] {
        guard let last = writes.log.last else { return [] }
        var events = [CacheEvent.head(LogHead(seq: last.seq, hash: last.hash))]
        let deleted = writes.records.filter { $0.value.state.isDeleted }.map(\.key).sorted()
        if !deleted.isEmpty { events.append(.deleted(records: deleted)) }
        return events
    }
}
