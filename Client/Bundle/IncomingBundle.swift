import TandemProtocol

/// What an organisation may see, for its replica that is not online (`tandem bundle export FILE
/// --for ORG` on a coordinator's replica, `tandem bundle import FILE` on the organisation's;
/// docs/sync.md, Bundles): the pull items after `since` up to `next` exactly as a member token of
/// the organisation would pull them, its open conflicts, the schema, and the server's signed
/// checkpoint of `next`, in one file (``BundleFrame``, kind `pull`) the server's key signs.
///
/// ```swift
/// let bundle = try IncomingBundle(frame: frame)
/// try replica.bundles.apply(bundle)   // like a pull; refuses a bundle for another organisation, or older
/// ```
public struct IncomingBundle: Sendable {
    /// The organisation it was made for.
    public var organisation: String
    /// The seq it starts after, and the one it reaches.
    public var since: Int64
    public var next: Int64
    /// The server's key that signed it (base64).
    public var publicKey: String
    /// When the server made it (RFC 3339).
    public var created: String
    /// How many pull items it carries.
    public var count: Int { page.items.count }
    var page: PulledPage
    var conflicts: [ConflictInfo]
    var schema: Schema

    /// The bundle a checked frame of kind `pull` holds.
    init(frame: BundleFrame) throws(ReplicaError) {
        let header = frame.header
        guard case let .string(organisation)? = header["for"], case let .int(since)? = header["since"],
            case let .int(next)? = header["next"], case let .string(created)? = header["created"],
            let schemaJSON = header["schema"], case let .array(conflictsJSON)? = header["conflicts"]
        else { throw ReplicaError(.invalidData, "not a bundle this tandem can import: its header is incomplete") }
        self.organisation = organisation
        self.since = since
        self.next = next
        self.created = created
        publicKey = frame.publicKey
        // The items as a pull page's text, read by the same reader a pull uses.
        var text = Array(#"{"items":["#.utf8)
        for (index, line) in frame.body.enumerated() {
            if index > 0 { text.append(UInt8(ascii: ",")) }
            text += line
        }
        var tail: [JSONMember] = [JSONMember("next", .int(next)), JSONMember("more", .bool(false))]
        if let checkpoint = header["checkpoint"], checkpoint != .null {
            tail.append(JSONMember("checkpoint", checkpoint))
        }
        if let version = header["schema_version"] { tail.append(JSONMember("schema_version", version)) }
        // The openings of the items' commitments (SPEC §8), read as a pull page's `values`.
        if let values = header[BundleFrame.valuesMember], values != .null {
            tail.append(JSONMember("values", values))
        }
        let rest = JSONValue.object(tail).serialized()
        text += Array(("]," + rest.dropFirst()).utf8)
        do {
            page = try PulledPage(bytes: text)
            schema = try Schema(json: schemaJSON)
            conflicts = try conflictsJSON.map { json throws(ProtocolError) in try ConflictInfo(json: json) }
        } catch {
            throw ReplicaError(.invalidData, "not a bundle this tandem can import: \(error.message)")
        }
    }
}

/// A bundle file of either kind, read and checked (``BundleFile/read(_:)``, then this).
public enum ReadBundle: Sendable {
    case changes(ChangeBundle)
    case pull(IncomingBundle)

    /// Reads a bundle file of either kind and checks it whole.
    ///
    /// - Throws: `invalidData` (65) with one line saying what is wrong.
    public init(file: [UInt8]) throws(ReplicaError) {
        let frame = try ChangeBundle.frame(of: file, kind: nil)
        switch frame.kind {
        case .changes: self = .changes(try ChangeBundle(frame: frame))
        case .pull: self = .pull(try IncomingBundle(frame: frame))
        }
    }
}
