import Crypto

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
    public var publicKey: String {
        didSet { key = nil }
    }
    /// `publicKey` decoded once per device rather than once per signature (nil: decode it).
    var key: Curve25519.Signing.PublicKey?
    /// What is wrong when it does not verify.
    public var problem: String {
        get {
            switch reason {
            case let .text(text): text
            case let .device(device): "the signature does not verify with device \(device)'s key"
            }
        }
        set { reason = .text(newValue) }
    }
    /// The problem, written out only when it is reported.
    private var reason: Reason

    private enum Reason {
        case text(String)
        case device(String)
    }

    init(seq: Int64, signature: String, bytes: [UInt8], publicKey: String, problem: String) {
        self.seq = seq
        self.signature = signature
        self.bytes = bytes
        self.publicKey = publicKey
        reason = .text(problem)
    }

    /// A device's change, checked with the device's key (`key`: `publicKey` decoded).
    init(
        seq: Int64, signature: String, bytes: [UInt8], device: String, publicKey: String,
        key: Curve25519.Signing.PublicKey?
    ) {
        self.seq = seq
        self.signature = signature
        self.bytes = bytes
        self.publicKey = publicKey
        self.key = key
        reason = .device(device)
    }

    /// nil when the signature verifies, else the failure.
    public func run() -> AuditFailure? {
        let isValid =
            if let key { Signature.isValid(signature, of: bytes, key: key) } else {
                Signature.isValid(signature, of: bytes, publicKey: publicKey)
            }
        return isValid ? nil : AuditFailure(seq: seq, problem)
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
    /// `hash`'s 32 bytes: what the next entry's hash starts from.
    private var hashBytes = [UInt8](repeating: 0, count: 32)
    /// The server's key, from entry 1.
    public private(set) var serverKey: String?
    private var serverPublicKey: Curve25519.Signing.PublicKey?
    /// The last entry taken in, read again from its line when asked for (the fast path keeps the
    /// line, not the values).
    public var last: LogEntry? {
        switch lastTaken {
        case nil: nil
        case let .entry(entry)?: entry
        case let .line(line)?: (try? JSONValue.parse(bytes: line)).flatMap { try? LogEntry(json: $0) }
        }
    }
    private var lastTaken: Taken?
    private var devices: [String: (organisation: String?, publicKey: String, key: Curve25519.Signing.PublicKey?)] =
        [:]

    private enum Taken {
        case entry(LogEntry)
        case line([UInt8])
    }

    public init() {}

    /// Checks the next line of the history and takes it in.
    ///
    /// A line in RFC 8785 form (what servers store and serve) is checked straight from its bytes
    /// (``EntryScan``); any other line is parsed and written again in RFC 8785 form, as
    /// ``append(json:)`` does. Both decide the same.
    ///
    /// - Returns: the signature the entry needs checked, nil when it needs none.
    /// - Throws: ``AuditFailure`` naming the first bad seq; the verifier is then unchanged.
    public mutating func append(line: [UInt8]) throws(AuditFailure) -> SignatureCheck? {
        let fast = line.withUnsafeBufferPointer { buffer in appendScanned(buffer) }
        if case let .taken(check) = fast {
            lastTaken = .line(line)
            return check
        }
        let expected = seq + 1
        let json: JSONValue
        do { json = try JSONValue.parse(bytes: line) } catch {
            throw AuditFailure(seq: expected, "the entry is not JSON (\(error.message))")
        }
        return try append(json: json)
    }

    /// What the fast path made of a line.
    private enum Scanned {
        /// Checked and taken in.
        case taken(SignatureCheck?)
        /// Left to the general path: not in RFC 8785 form, not an ordinary change, or wrong
        /// somewhere (the general path names what).
        case general
    }

    /// The fast path of ``append(line:)`` for an entry that is not a device registration, not
    /// entry 1, not rejected for its signature, and right in every respect; anything else is
    /// left to the general path, which alone writes failures.
    private mutating func appendScanned(_ line: UnsafeBufferPointer<UInt8>) -> Scanned {
        guard let scan = EntryScan(line), scan.seq == seq + 1, scan.seq > 1, let serverKey,
            let signatureRange = scan.signature, let signatureMember = scan.signatureMember,
            let authorDevice = scan.authorDevice, equal(line, authorDevice, scan.device),
            !equal(line, scan.table, DeviceRegistry.table),
            !(equal(line, scan.status, Outcome.Status.rejected.rawValue)
                && equal(line, scan.reason, RejectionReason.signature.rawValue)),
            hash.utf8.elementsEqual(line[scan.prevHash])
        else { return .general }
        // The entry without `hash`: the line with that member cut out.
        var hasher = SHA256()
        hashBytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        let raw = UnsafeRawBufferPointer(line)
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[..<scan.hashMember.lowerBound]))
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[scan.hashMember.upperBound...]))
        let digest = hasher.finalize()
        guard Digest.hexMatches(digest, line[scan.hash]) else { return .general }

        let device = String(decoding: line[scan.device], as: UTF8.self)
        let check: SignatureCheck
        // The change without `signature`: its bytes with that member cut out.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(scan.change.count - signatureMember.count)
        bytes += line[scan.change.lowerBound..<signatureMember.lowerBound]
        bytes += line[signatureMember.upperBound..<scan.change.upperBound]
        let signature = String(decoding: line[signatureRange], as: UTF8.self)
        if device == DeviceRegistry.serverDevice {
            var serverCheck = SignatureCheck(
                seq: scan.seq, signature: signature, bytes: bytes, publicKey: serverKey,
                problem: "the change is not signed by the server's key (registered at seq 1)")
            serverCheck.key = serverPublicKey
            check = serverCheck
        } else {
            guard let registered = devices[device] else { return .general }
            let organisation = scan.authorOrganisation.map { String(decoding: line[$0], as: UTF8.self) }
            guard registered.organisation == organisation else { return .general }
            check = SignatureCheck(
                seq: scan.seq, signature: signature, bytes: bytes, device: device, publicKey: registered.publicKey,
                key: registered.key)
        }
        seq = scan.seq
        hash = String(decoding: line[scan.hash], as: UTF8.self)
        digest.withUnsafeBytes { hashBytes = Array($0) }
        return .taken(check)
    }

    /// Whether the bytes of `range` are `text` (false when there is no range).
    private func equal(_ line: UnsafeBufferPointer<UInt8>, _ range: Range<Int>?, _ text: String) -> Bool {
        guard let range else { return false }
        return text.utf8.elementsEqual(line[range])
    }

    private func equal(_ line: UnsafeBufferPointer<UInt8>, _ a: Range<Int>, _ b: Range<Int>) -> Bool {
        a.count == b.count && line[a].elementsEqual(line[b])
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
        let unhashed = JSONValue.object(members.filter { $0.key != "hash" && $0.key != LogEntry.valuesMember })
        guard LogEntry.hash(prevHash: hash, unhashed: unhashed) == entry.hash else {
            throw AuditFailure(seq: expected, "the hash does not match the entry's contents (altered)")
        }
        if let values = json[LogEntry.valuesMember] {
            if let problem = LogEntry.openingProblem(values, entry: entry) {
                throw AuditFailure(seq: expected, problem)
            }
        }
        let check = try signatureCheck(for: entry)
        seq = entry.seq
        hash = entry.hash
        hashBytes = Digest.bytes(hex: entry.hash) ?? Array(entry.hash.utf8)
        lastTaken = .entry(entry)
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
        let isRejected = entry.outcome["status"] == .string(Outcome.Status.rejected.rawValue)
        let rejectedForSignature = isRejected && entry.outcome["reason"] == .string(RejectionReason.signature.rawValue)
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
                serverPublicKey = Signature.publicKey(key)
            } else {
                guard devices[recordID] == nil else {
                    throw AuditFailure(seq: seq, "device \(recordID) is registered a second time")
                }
                let organisation: String? =
                    if case let .string(value)? = entry.change["fields"]?["organisation"] { value } else { nil }
                devices[recordID] = (organisation, key, Signature.publicKey(key))
            }
        }
        guard let serverKey else { throw AuditFailure(seq: seq, "entry 1 does not register the server's key") }
        if device == DeviceRegistry.serverDevice {
            // A member may push a change naming device `server`; the server refuses it (`signature`).
            if rejectedForSignature { return nil }
            var check = SignatureCheck(
                seq: seq, signature: signature, bytes: bytes, publicKey: serverKey,
                problem: "the change is not signed by the server's key (registered at seq 1)")
            check.key = serverPublicKey
            return check
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
            seq: seq, signature: signature, bytes: bytes, device: device, publicKey: registered.publicKey,
            key: registered.key)
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
