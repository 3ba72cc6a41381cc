/// A pull page as a replica applies it: what ``PullResponse`` holds, but with each entry's
/// `author`, `fields` and `outcome` kept as the JSON text they arrived in — checked, not built —
/// since the replica only stores them (its `tandem_history`); the records' values are parsed,
/// for the replica's rows.
///
/// The texts are what the server sent: for a server that renders items as ``PullItem/json``
/// does, the very bytes `json.serialized()` gives for those values.
package struct PulledPage: Sendable {
    package var items: [PulledItem]
    package var next: Int64
    package var more: Bool
    package var checkpoint: Checkpoint?
    package var schemaVersion: Int?
    /// The openings of the commitments the entries hold (``PullResponse/values``).
    package var values: Openings

    package init(
        items: [PulledItem], next: Int64, more: Bool, checkpoint: Checkpoint?, schemaVersion: Int?,
        values: Openings = Openings()
    ) {
        self.items = items
        self.next = next
        self.more = more
        self.checkpoint = checkpoint
        self.schemaVersion = schemaVersion
        self.values = values
    }

    /// The same page, its texts serialised from its values.
    package init(_ page: PullResponse) {
        self.init(
            items: page.items.map(PulledItem.init), next: page.next, more: page.more, checkpoint: page.checkpoint,
            schemaVersion: page.schemaVersion, values: page.values)
    }

    /// The page as a value, its texts parsed.
    package func response() throws(ProtocolError) -> PullResponse {
        var items: [PullItem] = []
        items.reserveCapacity(self.items.count)
        for item in self.items { items.append(try item.pullItem()) }
        return PullResponse(
            items: items, next: next, more: more, checkpoint: checkpoint, schemaVersion: schemaVersion, values: values)
    }
}

/// One item of a ``PulledPage``: a ``PullItem`` with its entry's texts kept.
package struct PulledItem: Sendable {
    package var seq: Int64
    package var table: String
    package var recordID: String
    package var version: Int64
    package var isDeleted: Bool
    package var record: [String: JSONValue]?
    package var entry: PulledEntry?
    package var isVisible: Bool

    package init(
        seq: Int64, table: String, recordID: String, version: Int64, isDeleted: Bool, record: [String: JSONValue]?,
        entry: PulledEntry?, isVisible: Bool
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

    init(_ item: PullItem) {
        self.init(
            seq: item.seq, table: item.table, recordID: item.recordID, version: item.version,
            isDeleted: item.isDeleted, record: item.record, entry: item.entry.map(PulledEntry.init),
            isVisible: item.isVisible)
    }

    func pullItem() throws(ProtocolError) -> PullItem {
        PullItem(
            seq: seq, table: table, recordID: recordID, version: version, isDeleted: isDeleted, record: record,
            entry: try entry?.entry(), isVisible: isVisible)
    }
}

/// A ``PullItem/Entry`` with `author`, `fields` and `outcome` as JSON texts, and the outcome's
/// status and version read from its text.
package struct PulledEntry: Sendable {
    package var changeID: String
    package var time: String
    /// ``Author/json``'s text.
    package var author: String
    package var op: Operation
    /// The fields the change set, as a JSON object's text.
    package var fields: String
    /// ``Outcome/json``'s text.
    package var outcome: String
    package var status: Outcome.Status
    /// The outcome's version.
    package var version: Int64?
    package var hlc: String?
    package var baseVersion: Int64?
    package var device: String?
    package var signature: String?

    package init(
        changeID: String, time: String, author: String, op: Operation, fields: String, outcome: String,
        status: Outcome.Status, version: Int64?, hlc: String?, baseVersion: Int64?, device: String?,
        signature: String?
    ) {
        self.changeID = changeID
        self.time = time
        self.author = author
        self.op = op
        self.fields = fields
        self.outcome = outcome
        self.status = status
        self.version = version
        self.hlc = hlc
        self.baseVersion = baseVersion
        self.device = device
        self.signature = signature
    }

    init(_ entry: PullItem.Entry) {
        self.init(
            changeID: entry.changeID, time: entry.time, author: entry.author.json.serialized(), op: entry.op,
            fields: PullItem.object(entry.fields).serialized(), outcome: entry.outcome.json.serialized(),
            status: entry.outcome.status, version: entry.outcome.version, hlc: entry.hlc,
            baseVersion: entry.baseVersion, device: entry.device, signature: entry.signature)
    }

    func entry() throws(ProtocolError) -> PullItem.Entry {
        var fields: [String: JSONValue] = [:]
        guard case let .object(members) = try JSONParser.parse(Array(self.fields.utf8)) else {
            throw ProtocolError(.invalidJSON, "item.entry.fields: expected an object")
        }
        for member in members { fields[member.key] = member.value }
        return PullItem.Entry(
            changeID: changeID, time: time, author: try Author(json: JSONParser.parse(Array(author.utf8))), op: op,
            fields: fields, outcome: try Outcome(json: JSONParser.parse(Array(outcome.utf8))), hlc: hlc,
            baseVersion: baseVersion, device: device, signature: signature)
    }
}
