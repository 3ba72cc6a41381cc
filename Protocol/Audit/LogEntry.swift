import Crypto

/// One entry of the history (SPEC §8), one NDJSON line of `GET /v1/history`:
/// `{"seq", "time", "author", "change", "outcome", "prev_hash", "hash"}`.
///
/// `hash` is the lowercase hex SHA-256 of the 32 bytes of `prev_hash` followed by the RFC 8785
/// bytes of the entry without `hash`; the first entry's `prev_hash` is 64 zeros. The line is
/// itself the entry's RFC 8785 text, so what the server stores, serves and hashes is one text.
public struct LogEntry: Hashable, Sendable {
    public static let genesisHash = String(repeating: "0", count: 64)
    /// The member a history line may carry beside the entry: the openings of the commitments
    /// it holds (SPEC §8, ``Openings``), for a reader who may see them. It is not part of the
    /// entry — neither hashed nor signed — and it sorts after every member of the entry, so a
    /// line that carries it is still RFC 8785 text.
    public static let valuesMember = "values"

    public var seq: Int64
    public var time: String
    public var author: Author
    /// The change as pushed, with its signature.
    public var change: JSONValue
    public var outcome: JSONValue
    public var prevHash: String
    public var hash: String

    /// A new entry chained after `prevHash`: its hash is computed here.
    public init(seq: Int64, time: String, author: Author, change: JSONValue, outcome: JSONValue, prevHash: String) {
        self =
            Self.chained(
                seq: seq, time: time, author: author, change: change, outcome: outcome, prevHash: prevHash
            ).entry
    }

    private init(
        seq: Int64, time: String, author: Author, change: JSONValue, outcome: JSONValue, prevHash: String,
        hash: String
    ) {
        self.seq = seq
        self.time = time
        self.author = author
        self.change = change
        self.outcome = outcome
        self.prevHash = prevHash
        self.hash = hash
    }

    /// A new entry chained after `prevHash`, with its ``line``: the RFC 8785 bytes of each member
    /// are written once, for the hash and for the line (the server's push path).
    public static func chained(
        seq: Int64, time: String, author: Author, change: JSONValue, outcome: JSONValue, prevHash: String
    ) -> (entry: LogEntry, line: String) {
        let (hash, line) = chainedLine(
            seq: seq, time: time, author: author, change: change.canonicalBytes(), outcome: outcome,
            prevHash: prevHash)
        let entry = LogEntry(
            seq: seq, time: time, author: author, change: change, outcome: outcome, prevHash: prevHash, hash: hash)
        return (entry, line)
    }

    /// The hash and line of ``chained(seq:time:author:change:outcome:prevHash:)`` from the
    /// change's RFC 8785 bytes (``Change/canonicalBytes(signingBytes:)``).
    public static func chainedLine(
        seq: Int64, time: String, author: Author, change: [UInt8], outcome: JSONValue, prevHash: String
    ) -> (hash: String, line: String) {
        // Members in RFC 8785 order: author, change, [hash], outcome, prev_hash, seq, time. The
        // hash goes between the two halves of the unhashed text, so each half is written once.
        var line: [UInt8] = []
        line.reserveCapacity(change.count + 512)
        line.append(contentsOf: #"{"author":"#.utf8)
        author.json.writeCanonical(to: &line)
        line.append(contentsOf: #","change":"#.utf8)
        line.append(contentsOf: change)
        var tail: [UInt8] = []
        tail.reserveCapacity(256)
        tail.append(contentsOf: #","outcome":"#.utf8)
        outcome.writeCanonical(to: &tail)
        tail.append(contentsOf: #","prev_hash":"#.utf8)
        JSONValue.writeCanonicalString(prevHash, to: &tail)
        tail.append(contentsOf: #","seq":"#.utf8)
        JSONValue.int(seq).writeCanonical(to: &tail)
        tail.append(contentsOf: #","time":"#.utf8)
        JSONValue.writeCanonicalString(time, to: &tail)
        tail.append(UInt8(ascii: "}"))
        var hasher = SHA256()
        hasher.update(data: Digest.bytes(hex: prevHash) ?? Array(prevHash.utf8))
        hasher.update(data: line)
        hasher.update(data: tail)
        let hex = Array("0123456789abcdef".utf8)
        var hash: [UInt8] = []
        hash.reserveCapacity(64)
        for byte in hasher.finalize() {
            hash.append(hex[Int(byte >> 4)])
            hash.append(hex[Int(byte & 0xF)])
        }
        line.append(contentsOf: #","hash":""#.utf8)
        line.append(contentsOf: hash)
        line.append(UInt8(ascii: "\""))
        line.append(contentsOf: tail)
        return (String(decoding: hash, as: UTF8.self), String(decoding: line, as: UTF8.self))
    }

    /// What is wrong with the openings `values` beside this entry, nil when nothing: one that
    /// does not open the commitment it is given for (a value or salt altered, salts swapped), or
    /// one of a commitment the entry does not hold.
    public static func openingProblem(_ values: JSONValue, entry: LogEntry) -> String? {
        let openings: Openings
        do { openings = try Openings(json: values) } catch {
            return "the values beside the entry are malformed (\(error.message))"
        }
        if let wrong = openings.mismatched.first {
            return "the value beside commitment \(wrong.prefix(12))… does not match it (altered)"
        }
        let held = Set(Sealing.commitments(in: entry.change) + Sealing.commitments(in: entry.outcome))
        if let stray = openings.byCommitment.keys.sorted().first(where: { !held.contains($0) }) {
            return "a value beside the entry opens commitment \(stray.prefix(12))…, which the entry does not hold"
        }
        return nil
    }

    /// `line` (an entry's RFC 8785 text) with `values` beside it: the member goes last, as RFC
    /// 8785 orders it. The line as it is when there is none.
    public static func line(_ line: String, with values: Openings) -> String {
        guard !values.isEmpty, line.hasSuffix("}") else { return line }
        var output = Array(line.utf8.dropLast())
        output += Array(#","values":"#.utf8)
        values.json.writeCanonical(to: &output)
        output.append(UInt8(ascii: "}"))
        return String(decoding: output, as: UTF8.self)
    }

    /// The entry without `hash`: what is hashed.
    public var unhashedJSON: JSONValue {
        .object([
            JSONMember("seq", .int(seq)), JSONMember("time", .string(time)), JSONMember("author", author.json),
            JSONMember("change", change), JSONMember("outcome", outcome), JSONMember("prev_hash", .string(prevHash)),
        ])
    }

    /// The whole entry.
    public var json: JSONValue {
        guard case var .object(members) = unhashedJSON else { return unhashedJSON }
        members.append(JSONMember("hash", .string(hash)))
        return .object(members)
    }

    /// The NDJSON line (without its newline): the entry's RFC 8785 text.
    public var line: String { json.canonicalText() }

    /// SHA-256 of `prevHash`'s 32 bytes ‖ the RFC 8785 bytes of `unhashed`, in lowercase hex.
    public static func hash(prevHash: String, unhashed: JSONValue) -> String {
        var input = Digest.bytes(hex: prevHash) ?? Array(prevHash.utf8)
        input += unhashed.canonicalBytes()
        return Digest.sha256Hex(input)
    }

    /// Reads an entry from its JSON (a history line), without checking its hash.
    ///
    /// - Throws: ``ProtocolError`` (`invalidJSON`) naming the member that is missing or mistyped.
    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "entry") { ProtocolError(.invalidJSON, $0) }
        let seq = try object.int("seq")
        self.seq = Int64(seq)
        time = try object.string("time")
        author = try Author(json: try object.value("author"))
        change = try object.value("change")
        outcome = try object.value("outcome")
        prevHash = try object.string("prev_hash")
        hash = try object.string("hash")
    }
}

/// Device keys in the history (SPEC §8). Registering a device (`POST /v1/devices`) appends an
/// entry whose change is made and signed by the server: table `_device`, the device id as
/// `record_id`, `op` `insert`, fields `{"organisation", "role", "public_key"}`. The first entry
/// of every history registers the server's own key the same way, as device `server`; every
/// change the server makes itself (an organisation added, a device registered, a conflict
/// resolved through the API) is signed by that key and names device `server`.
public enum DeviceRegistry {
    /// The pseudo-table of device registrations: in the history, never in a replica.
    public static let table = "_device"
    /// The server's own device id.
    public static let serverDevice = "server"

    /// The change that registers `device` with `publicKey` for an organisation (nil: no
    /// organisation, as for coordinators), unsigned; the server signs it.
    public static func registration(
        device: String, publicKey: String, organisation: String?, role: Role, changeID: String, hlc: String
    ) -> Change {
        Change(
            changeID: changeID, table: table, recordID: device, op: .insert,
            fields: [
                "organisation": organisation.map(JSONValue.string) ?? .null, "role": .string(role.rawValue),
                "public_key": .string(publicKey),
            ], baseVersion: 0, hlc: hlc, device: serverDevice)
    }

    /// Who a pushed change is judged as: the pushing token's organisation and role — or, when a
    /// coordinator's token carries a change signed by another organisation's registered device (a
    /// replica handing back changes a server restored from a backup has lost,
    /// docs/operations.md), that device's organisation and the role it was registered with.
    /// Members carry only their own organisation's changes: for them the token decides, and a
    /// device of another organisation fails the signature check.
    ///
    /// - Parameters:
    ///   - pusher: the token's organisation and role, with the change's device.
    ///   - registered: the organisation and role the change's device is registered with; nil
    ///     when it is not registered.
    ///
    /// ```swift
    /// DeviceRegistry.author(pushedBy: coordinator, registered: ("org-a", .member))
    /// // Author(organisation: "org-a", role: .member, device: …)
    /// ```
    public static func author(pushedBy pusher: Author, registered: (organisation: String?, role: Role)?) -> Author {
        guard let registered, pusher.role == .coordinator, registered.organisation != pusher.organisation,
            registered.role != .server
        else { return pusher }
        return Author(organisation: registered.organisation, role: registered.role, device: pusher.device)
    }

    /// Whether a replica of `carrier` may hand `author`'s change back to the server (the rule
    /// of ``author(pushedBy:registered:)``, seen from the replica): coordinators any replica's
    /// change, members their own organisation's, auditors none; never the server's own changes.
    public static func mayCarry(_ author: Author, by carrier: Author) -> Bool {
        guard author.role != .server, author.device != serverDevice else { return false }
        switch carrier.role {
        case .coordinator: return true
        case .member: return carrier.organisation != nil && author.organisation == carrier.organisation
        case .auditor, .server: return false
        }
    }

    /// A device id a replica may register: 1 to 128 characters from `[A-Za-z0-9_-]`, not `server`.
    public static func isValidDeviceID(_ id: String) -> Bool {
        guard id != serverDevice, (1...128).contains(id.utf8.count) else { return false }
        return id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                true
            default: false
            }
        }
    }
}

/// The server's signed head (SPEC §4 `GET /v1/checkpoint`): `{"seq", "hash", "time",
/// "public_key", "signature"}`, the signature being Ed25519 over the RFC 8785 bytes of
/// `{"seq", "hash", "time"}`.
public struct Checkpoint: Hashable, Sendable {
    public var seq: Int64
    public var hash: String
    public var time: String
    public var publicKey: String
    public var signature: String

    public init(seq: Int64, hash: String, time: String, publicKey: String, signature: String) {
        self.seq = seq
        self.hash = hash
        self.time = time
        self.publicKey = publicKey
        self.signature = signature
    }

    /// The head `(seq, hash)` at `time`, signed by `key`.
    public init(seq: Int64, hash: String, time: String, signedBy key: SigningKey) {
        self.init(seq: seq, hash: hash, time: time, publicKey: key.publicKey, signature: "")
        signature = key.sign(signingBytes)
    }

    /// What is signed: the RFC 8785 bytes of `{"seq", "hash", "time"}`.
    public var signingBytes: [UInt8] {
        JSONValue.object([
            JSONMember("seq", .int(seq)), JSONMember("hash", .string(hash)), JSONMember("time", .string(time)),
        ]).canonicalBytes()
    }

    /// Whether the signature is `publicKey`'s.
    public var isSignatureValid: Bool { Signature.isValid(signature, of: signingBytes, publicKey: publicKey) }

    public var json: JSONValue {
        .object([
            JSONMember("seq", .int(seq)), JSONMember("hash", .string(hash)), JSONMember("time", .string(time)),
            JSONMember("public_key", .string(publicKey)), JSONMember("signature", .string(signature)),
        ])
    }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "checkpoint") { ProtocolError(.invalidJSON, $0) }
        seq = Int64(try object.int("seq"))
        hash = try object.string("hash")
        time = try object.string("time")
        publicKey = try object.string("public_key")
        signature = try object.string("signature")
    }
}
