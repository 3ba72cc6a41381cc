/// What is wrong with a history, and the first seq where it shows.
public struct AuditFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public var seq: Int64
    public var problem: String

    public init(seq: Int64, _ problem: String) {
        self.seq = seq
        self.problem = problem
    }

    /// `seq N: problem`.
    public var description: String { "seq \(seq): \(problem)" }
}

/// A signature the verifier needs checked: separate from the chain so that a caller can check
/// many at once on several cores (Ed25519 is most of the cost of verifying a history).
public struct SignatureCheck: Sendable {
    public var seq: Int64
    public var signature: String
    public var bytes: [UInt8]
    public var publicKey: String
    /// What is wrong when it does not verify.
    public var problem: String

    /// nil when the signature verifies, else the failure.
    public func run() -> AuditFailure? {
        Signature.isValid(signature, of: bytes, publicKey: publicKey) ? nil : AuditFailure(seq: seq, problem)
    }
}

/// Recomputes a history (SPEC §8) entry by entry, without trusting whoever served it:
///
/// - seqs run 1, 2, 3… with no gap; each `prev_hash` is the previous entry's `hash` (64 zeros
///   first); each `hash` is recomputed from the entry's own RFC 8785 bytes;
/// - entry 1 registers the server's key (device `server`, signed by itself), and no later entry
///   registers it again;
/// - a device registration (an applied change to table `_device`) names device `server`, and it
///   and every other change naming device `server` are signed by the server's key;
/// - any other change names a device registered earlier for its author's organisation and
///   carries that device's valid signature over its RFC 8785 bytes without `signature` — except
///   a change the server rejected for its signature (`reason` `signature`), which is kept as
///   evidence and changed nothing (a rejected change never registers a key).
///
/// ```swift
/// var verifier = ChainVerifier()
/// for line in lines { if let check = try verifier.append(line: line) { if let failure = check.run() { throw failure } } }
/// if let failure = verifier.check(checkpoint, hashAt: hashes) { … }
/// ```
public struct ChainVerifier: Sendable {
    /// The last entry verified (0 and 64 zeros before the first).
    public private(set) var seq: Int64 = 0
    public private(set) var hash = LogEntry.genesisHash
    /// The server's key, from entry 1.
    public private(set) var serverKey: String?
    /// The last entry taken in.
    public private(set) var last: LogEntry?
    private var devices: [String: (organisation: String?, publicKey: String)] = [:]

    public init() {}

    /// Checks the next line of the history and takes it in.
    ///
    /// - Returns: the signature the entry needs checked, nil when it needs none.
    /// - Throws: ``AuditFailure`` naming the first bad seq; the verifier is then unchanged.
    public mutating func append(line: [UInt8]) throws(AuditFailure) -> SignatureCheck? {
        let expected = seq + 1
        let json: JSONValue
        do { json = try JSONValue.parse(bytes: line) } catch {
            throw AuditFailure(seq: expected, "the entry is not JSON (\(error.message))")
        }
        return try append(json: json)
    }

    /// ``append(line:)`` for an entry already parsed.
    public mutating func append(json: JSONValue) throws(AuditFailure) -> SignatureCheck? {
        let expected = seq + 1
        guard case let .object(members) = json else { throw AuditFailure(seq: expected, "the entry is not an object") }
        let entry: LogEntry
        do { entry = try LogEntry(json: json) } catch {
            throw AuditFailure(seq: expected, "the entry is malformed (\(error.message))")
        }
        guard entry.seq == expected else {
            throw AuditFailure(
                seq: expected,
                entry.seq > expected
                    ? "entry \(expected) is missing (entry \(entry.seq) comes after entry \(seq))"
                    : "entry \(entry.seq) appears where entry \(expected) should be")
        }
        guard entry.prevHash == hash else {
            throw AuditFailure(seq: expected, "prev_hash is not the hash of entry \(seq)")
        }
        let unhashed = JSONValue.object(members.filter { $0.key != "hash" })
        guard LogEntry.hash(prevHash: hash, unhashed: unhashed) == entry.hash else {
            throw AuditFailure(seq: expected, "the hash does not match the entry's contents (altered)")
        }
        let check = try signatureCheck(for: entry)
        seq = entry.seq
        hash = entry.hash
        last = entry
        return check
    }

    /// Which key must have signed the entry's change, with the bytes; registers devices.
    private mutating func signatureCheck(for entry: LogEntry) throws(AuditFailure) -> SignatureCheck? {
        let seq = entry.seq
        guard case let .object(members) = entry.change, case let .string(table)? = entry.change["table"],
            case let .string(device)? = entry.change["device"], case let .string(recordID)? = entry.change["record_id"]
        else { throw AuditFailure(seq: seq, "the change is malformed") }
        guard entry.author.device == device else {
            throw AuditFailure(seq: seq, "the author's device is not the change's device")
        }
        // A rejected change changed nothing: it registers no key, whatever its table. Only an
        // applied `_device` change is a registration (a member can push one; it is refused).
        let isRejected = entry.outcome["status"] == .string("rejected")
        let rejectedForSignature = isRejected && entry.outcome["reason"] == .string("signature")
        let isRegistration = table == DeviceRegistry.table && !isRejected
        // Checked before the exemption for rejected changes below: otherwise an unsigned entry 1
        // "rejected for its signature" would pass, and the history would be blamed at seq 2.
        if seq == 1, !isRegistration || recordID != DeviceRegistry.serverDevice {
            throw AuditFailure(seq: seq, "entry 1 does not register the server's key")
        }
        let bytes = JSONValue.object(members.filter { $0.key != "signature" }).canonicalBytes()
        guard case let .string(signature)? = entry.change["signature"] else {
            if rejectedForSignature, seq > 1 { return nil }
            throw AuditFailure(seq: seq, "the change has no signature")
        }
        if isRegistration {
            guard device == DeviceRegistry.serverDevice, case let .string(key)? = entry.change["fields"]?["public_key"]
            else { throw AuditFailure(seq: seq, "a device registration not made by the server") }
            if recordID == DeviceRegistry.serverDevice {
                guard seq == 1, serverKey == nil else {
                    throw AuditFailure(seq: seq, "the server's key is registered again (only entry 1 may)")
                }
                serverKey = key
            } else {
                guard devices[recordID] == nil else {
                    throw AuditFailure(seq: seq, "device \(recordID) is registered a second time")
                }
                let organisation: String? =
                    if case let .string(value)? = entry.change["fields"]?["organisation"] { value } else { nil }
                devices[recordID] = (organisation, key)
            }
        }
        guard let serverKey else { throw AuditFailure(seq: seq, "entry 1 does not register the server's key") }
        if device == DeviceRegistry.serverDevice {
            // A member may push a change naming device `server`; the server refuses it (`signature`).
            if rejectedForSignature { return nil }
            return SignatureCheck(
                seq: seq, signature: signature, bytes: bytes, publicKey: serverKey,
                problem: "the change is not signed by the server's key (registered at seq 1)")
        }
        guard let registered = devices[device] else {
            if rejectedForSignature { return nil }
            throw AuditFailure(seq: seq, "device \(device) is not registered")
        }
        guard registered.organisation == entry.author.organisation else {
            if rejectedForSignature { return nil }
            throw AuditFailure(
                seq: seq,
                "device \(device) belongs to \(registered.organisation ?? "no organisation"), not to the author \(entry.author.organisation ?? "(no organisation)")"
            )
        }
        if rejectedForSignature { return nil }
        return SignatureCheck(
            seq: seq, signature: signature, bytes: bytes, publicKey: registered.publicKey,
            problem: "the signature does not verify with device \(device)'s key")
    }

    /// Checks a signed checkpoint against the history verified so far: signed by the server's
    /// key from entry 1, and naming an entry this history holds with that very hash.
    ///
    /// - Parameter hashAt: the hash of the entry with a seq, nil when there is none.
    public func check(_ checkpoint: Checkpoint, hashAt: (Int64) -> String?) -> AuditFailure? {
        guard checkpoint.isSignatureValid else {
            return AuditFailure(seq: checkpoint.seq, "the checkpoint's signature does not verify")
        }
        guard checkpoint.publicKey == serverKey else {
            return AuditFailure(
                seq: checkpoint.seq, "the checkpoint is signed by a key that is not the server's (registered at seq 1)")
        }
        guard checkpoint.seq <= seq, let hash = hashAt(checkpoint.seq) else {
            return AuditFailure(
                seq: seq + 1,
                "the history ends at seq \(seq) but a checkpoint covers seq \(checkpoint.seq): it was truncated")
        }
        guard hash == checkpoint.hash else {
            return AuditFailure(
                seq: checkpoint.seq,
                "the history does not extend the checkpoint at seq \(checkpoint.seq) (a different history: forked)")
        }
        return nil
    }
}
