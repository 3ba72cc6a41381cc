/// The HTTP API's bodies (SPEC §4), each a plain value with a JSON form. Readers are strict
/// about what they need and ignore members they do not know.
///
/// ```swift
/// let request = try PushRequest(json: JSONValue.parse(bytes: body))
/// let response = PushResponse(results: results)
/// reply(response.json.serialized())
/// ```
public enum WireProtocol {
    /// The version of this API; its paths start with `/v1`.
    public static let version = 1
    /// The most changes one push may carry.
    public static let maximumChangesPerPush = 10_000
    /// The most items one pull returns.
    public static let maximumPullLimit = 10_000
    /// The pull page size when a request names none.
    public static let defaultPullLimit = 1000
    /// How far ahead of the server's clock a change's HLC may be.
    public static let maximumClockSkewMilliseconds: Int64 = 5 * 60 * 1000
    /// The response header carrying the server's clock when it answered, in whole milliseconds
    /// since the Unix epoch (`Tandem-Server-Time: 1763812345678`). Every answer of the server
    /// has it, errors included; a client keeps its offset from it (``ClockOffset``).
    public static let serverTimeHeader = "Tandem-Server-Time"
    /// The largest field value a change may carry, counted as the UTF-8 bytes of its JSON
    /// (64 KiB: a page of text is a few KiB; files do not belong in records). A change carrying a
    /// bigger one is rejected alone with reason `value_too_large` (``ChangeLimits``); the CLI
    /// refuses it when the edit is made.
    public static let maximumValueSize = 64 * 1024
    /// The longest `change_id`, `table`, `record_id`, `device`, `hlc`, `signature` or field name,
    /// in UTF-8 bytes; a push carrying a longer one is refused whole with 413 `value_too_large`
    /// (``ChangeLimits``).
    public static let maximumIdentifierSize = 1024
    /// The largest integer magnitude: 2^53 − 1, the I-JSON range (RFC 7493) that RFC 8785 — and
    /// so the history's hashes and signatures — represents exactly. Beyond it a JSON number is
    /// read as a double (an int field refuses it); the CLI refuses such a value when it is typed;
    /// a `base_version` beyond it makes a push malformed (400).
    public static let maximumSafeInteger: Int64 = 9_007_199_254_740_991
}

/// `POST /v1/push` body: `{"changes": [change…]}`, and, when the push carries a bundle of a
/// device the server may not know yet, `"devices": [registration…]` (``CarriedDevice``); when
/// its changes commit to personal values (SPEC §8), `"values": {commitment: {"salt", "value"}}`
/// (``Openings``), beside the changes and outside their signatures.
public struct PushRequest: Hashable, Sendable {
    public var changes: [Change]
    /// Registrations carried with the changes (a coordinator's push of a bundle); empty for a
    /// replica's own push, and then not written.
    public var devices: [CarriedDevice]
    /// The openings of the changes' commitments; not written when empty.
    public var values: Openings

    public init(changes: [Change], devices: [CarriedDevice] = [], values: Openings = Openings()) {
        self.changes = changes
        self.devices = devices
        self.values = values
    }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "") { ProtocolError(.invalidJSON, $0) }
        var changes: [Change] = []
        for (index, item) in try object.array("changes").enumerated() {
            changes.append(try Change(json: item, path: "changes[\(index)]"))
        }
        self.changes = changes
        var devices: [CarriedDevice] = []
        if object.optional("devices") != nil {
            for (index, item) in try object.array("devices").enumerated() {
                devices.append(try CarriedDevice(json: item, path: "devices[\(index)]"))
            }
        }
        self.devices = devices
        values =
            try object.optional("values").map { json throws(ProtocolError) in try Openings(json: json) } ?? Openings()
    }

    public var json: JSONValue {
        var members = [JSONMember("changes", .array(changes.map(\.json)))]
        if !devices.isEmpty { members.append(JSONMember("devices", .array(devices.map(\.json)))) }
        if !values.isEmpty { members.append(JSONMember("values", values.json)) }
        return .object(members)
    }
}

/// One result of a push, in the order of the changes: `{"change_id", "status", "seq", "version", "reason"}`.
public struct PushResult: Hashable, Sendable {
    public var changeID: String
    public var status: Outcome.Status
    public var seq: Int64?
    public var version: Int64?
    public var reason: RejectionReason?

    public init(changeID: String, status: Outcome.Status, seq: Int64?, version: Int64?, reason: RejectionReason?) {
        self.changeID = changeID
        self.status = status
        self.seq = seq
        self.version = version
        self.reason = reason
    }

    public var json: JSONValue {
        .object([
            JSONMember("change_id", .string(changeID)), JSONMember("status", .string(status.rawValue)),
            JSONMember("seq", seq.map(JSONValue.int) ?? .null),
            JSONMember("version", version.map(JSONValue.int) ?? .null),
            JSONMember("reason", reason.map { .string($0.rawValue) } ?? .null),
        ])
    }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "result") { ProtocolError(.invalidJSON, $0) }
        changeID = try object.string("change_id")
        status = try object.choice("status")
        seq = try object.optionalInt64("seq")
        version = try object.optionalInt64("version")
        reason = try object.optionalString("reason").map(RejectionReason.init(rawValue:))
    }
}

/// `POST /v1/push` answer: `{"results": […]}`.
public struct PushResponse: Hashable, Sendable {
    public var results: [PushResult]

    public init(results: [PushResult]) { self.results = results }

    public var json: JSONValue { .object([JSONMember("results", .array(results.map(\.json)))]) }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "") { ProtocolError(.invalidJSON, $0) }
        var results: [PushResult] = []
        for item in try object.array("results") { results.append(try PushResult(json: item)) }
        self.results = results
    }
}

/// One item of a pull: a record as it stands after the log entry `seq`, or, with no entry, a
/// record whose visibility to the caller changed at `seq` (docs/visibility.md): it has become
/// visible (`record` is its whole current state), or it has stopped being visible
/// (`isVisible` false, `record` nil: the replica removes it — this is not a delete). `record`
/// is nil when the record does not exist (deleted, or an insert that was rejected).
///
/// JSON: `{"seq", "table", "record_id", "version", "deleted", "record": {field: value}|null,
/// "entry": {"change_id", "time", "author", "op", "fields", "outcome", "hlc", "base_version", "device",
/// "signature"}|null}`, plus
/// `"visible": false` on an item that leaves (absent means true, so older readers, which remove
/// a row whose `record` is null, still do the right thing).
public struct PullItem: Hashable, Sendable {
    /// What the log says of the change behind an item.
    public struct Entry: Hashable, Sendable {
        public var changeID: String
        public var time: String
        public var author: Author
        public var op: Operation
        public var fields: [String: JSONValue]
        public var outcome: Outcome
        /// The change's HLC: a replica's clock moves past every HLC it pulls.
        public var hlc: String?
        /// The version the change was made on: with it a replica replays the record exactly
        /// (`tandem get --as-of`), concurrent edits included.
        public var baseVersion: Int64?
        /// The device that signed the change, and its signature: with them a replica holds the
        /// change as it was pushed, and can carry it back to a server that lost it
        /// (docs/operations.md). A signature reveals nothing of the values.
        public var device: String?
        public var signature: String?

        public init(
            changeID: String, time: String, author: Author, op: Operation, fields: [String: JSONValue],
            outcome: Outcome,
            hlc: String? = nil, baseVersion: Int64? = nil, device: String? = nil, signature: String? = nil
        ) {
            self.changeID = changeID
            self.time = time
            self.author = author
            self.op = op
            self.fields = fields
            self.outcome = outcome
            self.hlc = hlc
            self.baseVersion = baseVersion
            self.device = device
            self.signature = signature
        }

        /// `{"change_id", "time", "author", "op", "fields", "outcome", "hlc", "base_version",
        /// "device", "signature"}`.
        public var json: JSONValue {
            .object([
                JSONMember("change_id", .string(changeID)), JSONMember("time", .string(time)),
                JSONMember("author", author.json), JSONMember("op", .string(op.rawValue)),
                JSONMember("fields", PullItem.object(fields)), JSONMember("outcome", outcome.json),
                JSONMember("hlc", hlc.map(JSONValue.string) ?? .null),
                JSONMember("base_version", baseVersion.map(JSONValue.int) ?? .null),
                JSONMember("device", device.map(JSONValue.string) ?? .null),
                JSONMember("signature", signature.map(JSONValue.string) ?? .null),
            ])
        }

        /// The entry of `change`, made by `author` at `time` with `outcome`.
        public init(_ change: Change, author: Author, time: String, outcome: Outcome) {
            self.init(
                changeID: change.changeID, time: time, author: author, op: change.op, fields: change.fields,
                outcome: outcome, hlc: change.hlc, baseVersion: change.baseVersion, device: change.device,
                signature: change.signature)
        }

        /// The change as its device pushed and signed it, when the entry says enough for that
        /// (its HLC, base version, device and signature).
        public func change(table: String, recordID: String) -> Change? {
            guard let hlc, let baseVersion, let device, let signature else { return nil }
            return Change(
                changeID: changeID, table: table, recordID: recordID, op: op, fields: fields, baseVersion: baseVersion,
                hlc: hlc, device: device, signature: signature)
        }
    }

    public var seq: Int64
    public var table: String
    public var recordID: String
    public var version: Int64
    public var isDeleted: Bool
    public var record: [String: JSONValue]?
    public var entry: Entry?
    /// False when the record has stopped being visible to the caller and leaves its replica.
    public var isVisible: Bool

    public init(
        seq: Int64, table: String, recordID: String, version: Int64, isDeleted: Bool, record: [String: JSONValue]?,
        entry: Entry?, isVisible: Bool = true
    ) {
        self.seq = seq
        self.table = table
        self.recordID = recordID
        self.version = version
        self.isDeleted = isDeleted
        self.record = record
        self.entry = entry
        self.isVisible = isVisible
    }

    public var json: JSONValue {
        var members = [
            JSONMember("seq", .int(seq)), JSONMember("table", .string(table)),
            JSONMember("record_id", .string(recordID)),
            JSONMember("version", .int(version)), JSONMember("deleted", .bool(isDeleted)),
            JSONMember("record", record.map(Self.object) ?? .null), JSONMember("entry", entry?.json ?? .null),
        ]
        if !isVisible { members.append(JSONMember("visible", .bool(false))) }
        return .object(members)
    }

    /// Values as a JSON object, members in name order.
    public static func object(_ fields: [String: JSONValue]) -> JSONValue {
        .object(fields.sorted { $0.key < $1.key }.map { JSONMember($0.key, $0.value) })
    }

    /// The item's JSON text from parts rendered beforehand — `record` (``object(_:)`` of its
    /// values) and `entry` (``Entry/json``) as a store keeps them — byte for byte what
    /// `json.serialized()` gives for the same item, without building it: how a server answers
    /// a pull at the speed of its bytes.
    package static func render(
        seq: Int64, table: String, recordID: String, version: Int64, isDeleted: Bool, record: String?,
        entry: String?, isVisible: Bool = true, to output: inout String
    ) {
        output += #"{"seq":"#
        output += String(seq)
        output += #","table":"#
        JSONValue.string(table).write(to: &output)
        output += #","record_id":"#
        JSONValue.string(recordID).write(to: &output)
        output += #","version":"#
        output += String(version)
        output += isDeleted ? #","deleted":true,"record":"# : #","deleted":false,"record":"#
        output += record ?? "null"
        output += #","entry":"#
        output += entry ?? "null"
        output += isVisible ? "}" : #","visible":false}"#
    }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "item") { ProtocolError(.invalidJSON, $0) }
        seq = try object.int64("seq")
        table = try object.string("table")
        recordID = try object.string("record_id")
        version = try object.int64("version")
        isDeleted = try object.bool("deleted", default: false)
        isVisible = try object.bool("visible", default: true)
        record = try object.optionalObject("record")
        if let value = object.optional("entry") {
            let entry = try JSONObjectReader(value, path: "item.entry") { ProtocolError(.invalidJSON, $0) }
            self.entry = Entry(
                changeID: try entry.string("change_id"), time: try entry.string("time"),
                author: try Author(json: try entry.value("author")), op: try entry.choice("op"),
                fields: try entry.optionalObject("fields") ?? [:],
                outcome: try Outcome(json: try entry.value("outcome")),
                hlc: try entry.optionalString("hlc"), baseVersion: try entry.optionalInt64("base_version"),
                device: try entry.optionalString("device"), signature: try entry.optionalString("signature"))
        } else {
            entry = nil
        }
    }
}

/// `GET /v1/pull` answer: `{"items": […], "next": SEQ, "more": bool, "checkpoint": {…}|null}`.
///
/// `checkpoint` is the history entry at `next` signed by the server (``Checkpoint``; null when
/// `next` is 0), whoever may read that entry: a hash says nothing of its contents. A replica
/// keeps it and presents it at its next sync (``CheckpointQuery``), so that a server whose
/// history went back or forked is noticed (docs/operations.md).
public struct PullResponse: Hashable, Sendable {
    public var items: [PullItem]
    public var next: Int64
    public var more: Bool
    public var checkpoint: Checkpoint?
    /// The version of the schema the server merges with (`"schema_version"`), so that a replica
    /// on an older one fetches `GET /v1/schema` and migrates before applying the page.
    public var schemaVersion: Int?
    /// The openings of the commitments the page's entries hold (SPEC §8, `"values"`), for a
    /// caller who may see them; not written when empty.
    public var values: Openings

    public init(
        items: [PullItem], next: Int64, more: Bool, checkpoint: Checkpoint? = nil, schemaVersion: Int? = nil,
        values: Openings = Openings()
    ) {
        self.items = items
        self.next = next
        self.more = more
        self.checkpoint = checkpoint
        self.schemaVersion = schemaVersion
        self.values = values
    }

    public var json: JSONValue {
        var members = [
            JSONMember("items", .array(items.map(\.json))), JSONMember("next", .int(next)),
            JSONMember("more", .bool(more)), JSONMember("checkpoint", checkpoint?.json ?? .null),
        ]
        if let schemaVersion { members.append(JSONMember("schema_version", .int(Int64(schemaVersion)))) }
        if !values.isEmpty { members.append(JSONMember("values", values.json)) }
        return .object(members)
    }

    /// The page's JSON text around items rendered beforehand (``PullItem/render(seq:table:recordID:version:isDeleted:record:entry:isVisible:to:)``,
    /// each one JSON text): byte for byte `json.serialized()` of the same page.
    package static func render(
        items: [String], next: Int64, more: Bool, checkpoint: Checkpoint?, schemaVersion: Int?,
        values: Openings = Openings()
    ) -> String {
        var output = #"{"items":["#
        output.reserveCapacity(items.reduce(128) { $0 + $1.utf8.count + 1 })
        for (index, item) in items.enumerated() {
            if index > 0 { output += "," }
            output += item
        }
        output += #"],"next":"#
        output += String(next)
        output += more ? #","more":true,"checkpoint":"# : #","more":false,"checkpoint":"#
        (checkpoint?.json ?? .null).write(to: &output)
        if let schemaVersion {
            output += #","schema_version":"#
            output += String(schemaVersion)
        }
        if !values.isEmpty {
            output += #","values":"#
            values.json.write(to: &output)
        }
        output += "}"
        return output
    }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "") { ProtocolError(.invalidJSON, $0) }
        var items: [PullItem] = []
        for item in try object.array("items") { items.append(try PullItem(json: item)) }
        self.items = items
        next = try object.int64("next")
        more = try object.bool("more", default: false)
        schemaVersion = try object.optionalInt64("schema_version").map { Int($0) }
        checkpoint = try object.optional("checkpoint").map { json throws(ProtocolError) in try Checkpoint(json: json) }
        values =
            try object.optional("values").map { json throws(ProtocolError) in try Openings(json: json) } ?? Openings()
    }
}

/// `GET /v1/checkpoint[?seq=N[&hash=H&time=T&signature=S]]`: the signed head; with `seq`, the
/// signed entry `seq` — or the head when the history ends before it, so that one answer says
/// whether the server still holds `seq` and where its history ends. With `hash`, `time` and
/// `signature` the caller presents the checkpoint of `seq` it holds (a replica's last pulled
/// page, an auditor's kept checkpoint); when it is signed by the server's key but the server's
/// history no longer holds it, the server keeps a report of it and logs it (`tandem-server
/// verify`, docs/operations.md). Only hashes travel either way.
public struct CheckpointQuery: Hashable, Sendable {
    public static let parameterNames = ["seq", "hash", "time", "signature"]

    public var seq: Int64?
    /// The checkpoint presented (its `publicKey` is not sent: the server checks it with its own).
    public var presented: Checkpoint?

    /// The head, or the entry `seq`.
    public init(seq: Int64? = nil) {
        self.seq = seq
    }

    /// The entry at `presented.seq`, presenting `presented`.
    public init(presenting presented: Checkpoint) {
        seq = presented.seq
        self.presented = presented
    }

    /// Reads the query from its parameters (`value(name)`: the parameter's text, nil when absent).
    ///
    /// - Throws: `invalidJSON` naming the parameter: `seq` must be an integer of 1 or more;
    ///   `hash` 64 lowercase hex digits; `hash`, `time` and `signature` come together, with `seq`.
    public init(parameters value: (String) -> String?) throws(ProtocolError) {
        if let text = value("seq") {
            guard let seq = Int64(text), seq >= 1 else {
                throw ProtocolError(.invalidJSON, "seq: expected a seq, an integer of 1 or more")
            }
            self.seq = seq
        }
        let parts = (hash: value("hash"), time: value("time"), signature: value("signature"))
        guard parts.hash != nil || parts.time != nil || parts.signature != nil else { return }
        guard let seq, let hash = parts.hash, let time = parts.time, let signature = parts.signature else {
            throw ProtocolError(.invalidJSON, "hash, time and signature: give all three, with seq")
        }
        guard Self.isHash(hash) else { throw ProtocolError(.invalidJSON, "hash: expected 64 lowercase hex digits") }
        guard time.utf8.count <= 64, signature.utf8.count <= 128 else {
            throw ProtocolError(.invalidJSON, "time, signature: too long")
        }
        presented = Checkpoint(seq: seq, hash: hash, time: time, publicKey: "", signature: signature)
    }

    /// The parameters to send, in order.
    public var parameters: [(name: String, value: String)] {
        var list: [(name: String, value: String)] = []
        if let seq { list.append(("seq", String(seq))) }
        if let presented {
            list += [("hash", presented.hash), ("time", presented.time), ("signature", presented.signature)]
        }
        return list
    }

    /// 64 lowercase hexadecimal digits: what the history's hashes look like.
    public static func isHash(_ text: String) -> Bool {
        text.utf8.count == 64
            && text.utf8.allSatisfy {
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
            }
    }
}

/// A field conflict as `tandem conflicts` and `GET /v1/conflicts` show it:
/// `{"id", "table", "record_id", "field", "current", "incoming", "status"}`.
public struct ConflictInfo: Hashable, Sendable {
    public enum Status: String, Hashable, Sendable, CaseIterable {
        case open, resolved
    }

    public var id: String
    public var table: String
    public var recordID: String
    public var field: String
    public var current: JSONValue
    public var incoming: JSONValue
    public var status: Status

    public init(
        id: String, table: String, recordID: String, field: String, current: JSONValue, incoming: JSONValue,
        status: Status
    ) {
        self.id = id
        self.table = table
        self.recordID = recordID
        self.field = field
        self.current = current
        self.incoming = incoming
        self.status = status
    }

    public var json: JSONValue {
        .object([
            JSONMember("id", .string(id)), JSONMember("table", .string(table)),
            JSONMember("record_id", .string(recordID)),
            JSONMember("field", .string(field)), JSONMember("current", current), JSONMember("incoming", incoming),
            JSONMember("status", .string(status.rawValue)),
        ])
    }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "conflict") { ProtocolError(.invalidJSON, $0) }
        id = try object.string("id")
        table = try object.string("table")
        recordID = try object.string("record_id")
        field = try object.string("field")
        current = object.optional("current") ?? .null
        incoming = object.optional("incoming") ?? .null
        status = try object.choice("status")
    }
}

/// `POST /v1/conflicts/{id}/resolve` body: `{"keep": "current"|"incoming"}` or `{"value": V}`.
public enum Resolution: Hashable, Sendable {
    case keepCurrent
    case keepIncoming
    case value(JSONValue)

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "") { ProtocolError(.invalidJSON, $0) }
        let value = object.has("value") ? try object.value("value") : nil
        switch (try object.optionalString("keep"), value) {
        case ("current"?, nil): self = .keepCurrent
        case ("incoming"?, nil): self = .keepIncoming
        case let (nil, value?): self = .value(value)
        default:
            throw ProtocolError(.invalidJSON, #"expected {"keep": "current"|"incoming"} or {"value": V}"#)
        }
    }

    public var json: JSONValue {
        switch self {
        case .keepCurrent: .object([JSONMember("keep", .string("current"))])
        case .keepIncoming: .object([JSONMember("keep", .string("incoming"))])
        case let .value(value): .object([JSONMember("value", value)])
        }
    }
}

/// `GET /v1/whoami` answer: `{"organisation", "role"}`.
public struct WhoAmI: Hashable, Sendable {
    public var organisation: String?
    public var role: Role

    public init(organisation: String?, role: Role) {
        self.organisation = organisation
        self.role = role
    }

    public var json: JSONValue {
        .object([
            JSONMember("organisation", organisation.map(JSONValue.string) ?? .null),
            JSONMember("role", .string(role.rawValue)),
        ])
    }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "") { ProtocolError(.invalidJSON, $0) }
        organisation = try object.optionalString("organisation")
        role = try object.choice("role")
    }
}

/// Every 4xx answer: `{"error": CODE, "message": …}`.
public struct ErrorBody: Hashable, Sendable {
    public var error: ErrorCode
    public var message: String

    public init(error: ErrorCode, message: String) {
        self.error = error
        self.message = message
    }

    public var json: JSONValue {
        .object([JSONMember("error", .string(error.rawValue)), JSONMember("message", .string(message))])
    }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "") { ProtocolError(.invalidJSON, $0) }
        error = ErrorCode(rawValue: try object.string("error"))
        message = try object.string("message")
    }
}

/// `POST /v1/erase` body (coordinators; SPEC §8, `tandem erase`): `{"table", "record_id"}`.
public struct EraseRequest: Hashable, Sendable {
    public var table: String
    public var recordID: String

    public init(table: String, recordID: String) {
        self.table = table
        self.recordID = recordID
    }

    public var json: JSONValue {
        .object([JSONMember("table", .string(table)), JSONMember("record_id", .string(recordID))])
    }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "") { ProtocolError(.invalidJSON, $0) }
        table = try object.string("table")
        recordID = try object.string("record_id")
    }
}

/// `POST /v1/erase` answer: `{"seq", "version", "erased": [field…], "unerasable": N}` — the
/// erasure's entry, the record's version after it, the personal fields that held a value, and
/// how many entries made before this version hold the record's values inside the chain, where
/// they cannot be erased without breaking it (docs/audit.md, "Personal data").
public struct EraseResponse: Hashable, Sendable {
    public var seq: Int64
    public var version: Int64
    public var erased: [String]
    public var unerasable: Int

    public init(seq: Int64, version: Int64, erased: [String], unerasable: Int) {
        self.seq = seq
        self.version = version
        self.erased = erased
        self.unerasable = unerasable
    }

    public var json: JSONValue {
        .object([
            JSONMember("seq", .int(seq)), JSONMember("version", .int(version)),
            JSONMember("erased", .array(erased.map(JSONValue.string))),
            JSONMember("unerasable", .int(Int64(unerasable))),
        ])
    }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "") { ProtocolError(.invalidJSON, $0) }
        seq = try object.int64("seq")
        version = try object.int64("version")
        erased = try object.optionalStrings("erased") ?? []
        unerasable = Int(try object.optionalInt64("unerasable") ?? 0)
    }
}
