public import TandemProtocol

/// Something a store found for a member's pull page (or anyone's), already rendered as the pull
/// sends it (``PullItem/render(seq:table:recordID:version:isDeleted:record:entry:isVisible:to:)``).
public struct PullCandidate: Sendable {
    public enum Kind: Sendable {
        /// A log entry the caller may read, with its record as it now stands.
        case entry
        /// A visibility marker of the caller's organisation (docs/visibility.md).
        case arrival, departure
    }

    public var seq: Int64
    public var recordID: String
    public var kind: Kind
    /// For a marker: whether the caller's organisation may read the record now.
    public var isReadable: Bool
    /// The item's JSON text.
    public var item: String

    public init(seq: Int64, recordID: String, kind: Kind, isReadable: Bool = true, item: String) {
        self.seq = seq
        self.recordID = recordID
        self.kind = kind
        self.isReadable = isReadable
        self.item = item
    }
}

/// A pull page as the server sends it: its items rendered, and where it ends.
public struct RenderedPullPage: Sendable {
    public var items: [String]
    public var next: Int64
    public var more: Bool
    public var schemaVersion: Int?
    /// The openings of the personal values the page's entries commit to, for a caller who may see them.
    public var values = Openings()

    public init(items: [String], next: Int64, more: Bool, schemaVersion: Int?, values: Openings = Openings()) {
        self.items = items
        self.next = next
        self.more = more
        self.schemaVersion = schemaVersion
        self.values = values
    }

    /// The page's JSON text with the checkpoint of `next` (``PullResponse``).
    public func json(checkpoint: Checkpoint?) -> String {
        PullResponse.render(
            items: items, next: next, more: more, checkpoint: checkpoint, schemaVersion: schemaVersion, values: values)
    }

    /// The page as a value (tests, and callers in process).
    public func response() throws -> PullResponse {
        try PullResponse(json: JSONValue.parse(json(checkpoint: nil)))
    }
}

/// How a pull page is cut (docs/visibility.md, "Pull"), whatever the store: the log entries the
/// caller may read merged in seq order with its markers — an arrival of a record it may read now
/// (unless the page carries an entry of the same record at the same seq), a departure of one it
/// may not — at most `limit` items, but a seq's items never split across pages.
public enum PullPager {
    /// - Parameters:
    ///   - entries: up to `limit` readable entries after `since`, in seq order.
    ///   - markers: the caller's markers after `since` (nil for coordinators and auditors): up to
    ///     `limit`, completed to the end of the last one's seq, in seq order.
    ///   - head: the seq of the last entry in the log.
    /// - Returns: the items, and `next`: the seq the page covers up to — past entries the caller
    ///   may not read, so that it never scans them again.
    public static func page(
        entries: [PullCandidate], markers: [PullCandidate]?, since: Int64, limit: Int, head: Int64
    ) -> (items: [String], next: Int64, more: Bool) {
        var bound = head
        if entries.count >= limit, let last = entries.last { bound = min(bound, last.seq) }
        var kept: [PullCandidate] = []
        if let markers {
            if markers.count >= limit, let last = markers.last { bound = min(bound, last.seq) }
            // Only what the caller may read now arrives, and only what it may not leaves: a record
            // that came and went since `since` is not sent at all.
            let seen = Set(entries.map { Seen(seq: $0.seq, recordID: $0.recordID) })
            kept = markers.filter { marker in
                switch marker.kind {
                case .arrival: marker.isReadable && !seen.contains(Seen(seq: marker.seq, recordID: marker.recordID))
                case .departure: !marker.isReadable
                case .entry: false
                }
            }
        }
        // In seq order, a seq's log entry before its markers.
        let candidates = (entries + kept).filter { $0.seq <= bound }.sorted {
            ($0.seq, $0.kind == .entry ? 0 : 1) < ($1.seq, $1.kind == .entry ? 0 : 1)
        }
        var items: [String] = []
        items.reserveCapacity(candidates.count)
        var next = max(bound, since)
        var index = candidates.startIndex
        while index < candidates.endIndex {
            let seq = candidates[index].seq
            let end = candidates[index...].firstIndex { $0.seq != seq } ?? candidates.endIndex
            if !items.isEmpty, items.count + (end - index) > limit {
                next = candidates[index - 1].seq
                break
            }
            items += candidates[index..<end].map(\.item)
            index = end
        }
        return (items, next, next < head)
    }

    /// The page a store's candidates make (``page(entries:markers:since:limit:head:)``), rendered.
    public static func page(of found: PullCandidates, since: Int64, limit: Int) -> RenderedPullPage {
        let page = page(entries: found.entries, markers: found.markers, since: since, limit: limit, head: found.head)
        return RenderedPullPage(items: page.items, next: page.next, more: page.more, schemaVersion: found.schemaVersion)
    }

    private struct Seen: Hashable {
        var seq: Int64
        var recordID: String
    }
}
