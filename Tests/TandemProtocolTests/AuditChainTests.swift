import TandemProtocol
import Testing

// The tamper-evident history (SPEC §8, docs/audit.md): base64, Ed25519 signatures, signed
// changes, log entries and their hashes, and the chain verifier against every kind of tampering.

// MARK: - A history builder (for tests only)

/// A fixed Ed25519 key: 32 bytes of `byte`. Signatures are deterministic, so are the hashes.
func auditKey(_ byte: UInt8) -> SigningKey {
    try! SigningKey(privateKeyBase64: Base64.encode([UInt8](repeating: byte, count: 32)))
}

/// Builds a history as a server would: entry 1 registers `serverKey`, then device registrations
/// (signed by the server), changes signed by devices, and changes the server makes itself.
struct AuditHistory {
    var serverKey: SigningKey
    var entries: [LogEntry] = []
    /// 2026-01-01T00:00:00Z; every entry is a second later than the one before.
    private var clock: Int64 = 1_767_225_600_000

    /// A history whose entry 1 registers `serverKey` (unless `registeringServerKey` is false).
    init(serverKey: SigningKey = auditKey(1), registeringServerKey: Bool = true) {
        self.serverKey = serverKey
        if registeringServerKey { registerServerKey() }
    }

    var lines: [String] { entries.map(\.line) }
    var head: LogEntry { entries[entries.count - 1] }

    /// The head (or the entry at `seq`) signed by `key` (the server's by default).
    func checkpoint(at seq: Int64? = nil, signedBy key: SigningKey? = nil) -> Checkpoint {
        let entry = seq.map { entries[Int($0) - 1] } ?? head
        return Checkpoint(seq: entry.seq, hash: entry.hash, time: entry.time, signedBy: key ?? serverKey)
    }

    /// A change with the next change id and HLC, unsigned.
    mutating func change(
        table: String = "organisation", recordID: String? = nil, op: Operation = .insert,
        fields: [String: JSONValue] = ["name": .string("Acme")], baseVersion: Int64 = 0, device: String
    ) -> Change {
        let n = entries.count + 1
        return Change(
            changeID: testID(0xC000 + n), table: table, recordID: recordID ?? testID(0xD000 + n), op: op,
            fields: fields, baseVersion: baseVersion,
            hlc: HLC(milliseconds: clock, counter: 0, device: device).description, device: device)
    }

    /// Appends an entry chained on the last one.
    @discardableResult
    mutating func append(change: JSONValue, author: Author, outcome: Outcome) -> LogEntry {
        clock += 1000
        let entry = LogEntry(
            seq: Int64(entries.count + 1), time: Timestamp.string(milliseconds: clock), author: author,
            change: change, outcome: outcome.json, prevHash: entries.last?.hash ?? LogEntry.genesisHash)
        entries.append(entry)
        return entry
    }

    /// The server's key registered as device `server` (entry 1), signed by `signer` (the key itself).
    @discardableResult
    mutating func registerServerKey(_ key: SigningKey? = nil, signedBy signer: SigningKey? = nil) -> LogEntry {
        let key = key ?? serverKey
        var registration = DeviceRegistry.registration(
            device: DeviceRegistry.serverDevice, publicKey: key.publicKey, organisation: nil, role: .server,
            changeID: testID(0xC000 + entries.count + 1),
            hlc: HLC(milliseconds: clock, counter: 0, device: DeviceRegistry.serverDevice).description)
        registration = registration.signed(with: signer ?? key)
        return append(
            change: registration.json, author: Author(organisation: nil, role: .server, device: "server"),
            outcome: Outcome(status: .applied, version: 1, applied: registration.fields.keys.sorted()))
    }

    /// `device` registered with `key` for `organisation`, signed by `signer` (the server's key).
    @discardableResult
    mutating func register(
        device: String, key: SigningKey, organisation: String?, signedBy signer: SigningKey? = nil
    ) -> LogEntry {
        let registration = DeviceRegistry.registration(
            device: device, publicKey: key.publicKey, organisation: organisation, role: .member,
            changeID: testID(0xC000 + entries.count + 1),
            hlc: HLC(milliseconds: clock, counter: 0, device: DeviceRegistry.serverDevice).description
        ).signed(with: signer ?? serverKey)
        return append(
            change: registration.json, author: Author(organisation: organisation, role: .member, device: "server"),
            outcome: Outcome(status: .applied, version: 1, applied: registration.fields.keys.sorted()))
    }

    /// A change by `device` for `organisation`, signed by `signer` (nil: unsigned).
    @discardableResult
    mutating func edit(
        by device: String, of organisation: String?, signedBy signer: SigningKey?,
        fields: [String: JSONValue] = ["name": .string("Acme")], table: String = "organisation",
        recordID: String? = nil, outcome: Outcome = Outcome(status: .applied, version: 1, applied: ["name"])
    ) -> LogEntry {
        var change = change(table: table, recordID: recordID, fields: fields, device: device)
        if let signer { change = change.signed(with: signer) }
        return append(
            change: change.json, author: Author(organisation: organisation, role: .member, device: device),
            outcome: outcome)
    }

    /// A change the server makes itself (`org add`), signed by `signer` (its own key).
    @discardableResult
    mutating func serverEdit(signedBy signer: SigningKey? = nil) -> LogEntry {
        let change = change(fields: ["name": .string("Made by the server")], device: DeviceRegistry.serverDevice)
            .signed(with: signer ?? serverKey)
        return append(
            change: change.json, author: Author(organisation: nil, role: .server, device: "server"),
            outcome: Outcome(status: .applied, version: 1, applied: ["name"]))
    }
}

let deviceA = auditKey(0xA1)
let deviceB = auditKey(0xB1)
let strangerKey = auditKey(0xEE)

/// Entry 1 the server's key; 2 and 3 devices `dev-a` (org-a) and `dev-b` (org-b); then edits.
func standardAuditHistory() -> AuditHistory {
    var history = AuditHistory()
    history.register(device: "dev-a", key: deviceA, organisation: "org-a")
    history.register(device: "dev-b", key: deviceB, organisation: "org-b")
    return history
}

/// A well-formed history of nine entries with every kind of entry SPEC §8 describes.
func wellFormedAuditHistory() -> AuditHistory {
    var history = standardAuditHistory()
    history.edit(by: "dev-a", of: "org-a", signedBy: deviceA)  // 4
    history.serverEdit()  // 5
    history.edit(
        by: "dev-a", of: "org-a", signedBy: deviceA, fields: ["name": .string("Acme 2"), "share": .double(0.1)])  // 6
    history.edit(by: "dev-a", of: "org-a", signedBy: nil, outcome: .rejected("signature"))  // 7: unsigned
    history.edit(by: "dev-x", of: "org-a", signedBy: strangerKey, outcome: .rejected("signature"))  // 8: unknown
    history.edit(by: "dev-b", of: "org-b", signedBy: deviceB)  // 9
    return history
}

/// Runs the verifier as `tandem audit verify` does: every line, every signature, the checkpoints.
func verifyHistory(_ lines: [String], checkpoints: [Checkpoint] = []) -> AuditFailure? {
    var verifier = ChainVerifier()
    var hashes: [Int64: String] = [:]
    for line in lines {
        do {
            if let check = try verifier.append(line: Array(line.utf8)), let failure = check.run() { return failure }
        } catch {
            return error
        }
        hashes[verifier.seq] = verifier.hash
    }
    for checkpoint in checkpoints {
        if let failure = verifier.check(checkpoint, hashAt: { hashes[$0] }) { return failure }
    }
    return nil
}

/// `line` with its first `old` replaced by `new`.
func replacingFirst(_ old: String, with new: String, in line: String) -> String {
    guard let range = line.range(of: old) else {
        Issue.record("\(old) is not in \(line)")
        return line
    }
    return line.replacingCharacters(in: range, with: new)
}

// MARK: - Base64

@Test(arguments: [
    ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
    ("foobar", "Zm9vYmFy"),
])
func base64MatchesRFC4648Vectors(text: String, base64: String) {
    #expect(Base64.encode(Array(text.utf8)) == base64)
    #expect(Base64.decode(base64) == Array(text.utf8))
}

@Test func base64RoundTripsAnyBytes() {
    var random = SplitMix64.seeded()
    for length in 0..<200 {
        let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
        let text = Base64.encode(bytes)
        #expect(text.utf8.count == (length + 2) / 3 * 4)
        #expect(Base64.decode(text) == bytes, "length \(length)")
    }
    #expect(Base64.encode([0xFB, 0xFF, 0xBF]) == "+/+/")
}

@Test(arguments: [
    "Zg", "Zg=", "Zm9", "Zg===", "====", "Z===", "Zh==", "Zm9=", "Zg==Zg==", "Zm9v\n", " Zm9v", "Zm9v Yg==",
    "Zm-v", "Zm_v", "Zg=a", "Zm9vYg=", "é===",
])
func base64RefusesNonCanonicalText(text: String) {
    #expect(Base64.decode(text) == nil)
}

// MARK: - Keys and signatures

/// RFC 8032 §7.1, TEST 1: the empty message.
@Test func signingMatchesRFC8032() throws {
    let secret = try #require(Digest.bytes(hex: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
    let key = try SigningKey(privateKeyBase64: Base64.encode(secret))
    let publicKey = try #require(Base64.decode(key.publicKey))
    #expect(publicKey == Digest.bytes(hex: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
    let signature = try #require(Base64.decode(key.sign([])))
    let expected =
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    #expect(signature == Digest.bytes(hex: expected))
    #expect(Signature.isValid(key.sign([]), of: [], publicKey: key.publicKey))
}

@Test func aSignatureVerifiesOnlyWithItsKeyAndItsBytes() throws {
    let key = auditKey(7)
    let bytes = Array("the bytes that were signed".utf8)
    let signature = key.sign(bytes)
    #expect(Signature.isValid(signature, of: bytes, publicKey: key.publicKey))
    #expect(!Signature.isValid(signature, of: bytes, publicKey: auditKey(8).publicKey))
    #expect(!Signature.isValid(signature, of: bytes + [0], publicKey: key.publicKey))
    var altered = bytes
    altered[3] ^= 1
    #expect(!Signature.isValid(signature, of: altered, publicKey: key.publicKey))

    let raw = try #require(Base64.decode(signature))
    #expect(raw.count == 64)
    for index in [0, 31, 32, 63] {
        var flipped = raw
        flipped[index] ^= 0x01
        #expect(!Signature.isValid(Base64.encode(flipped), of: bytes, publicKey: key.publicKey), "byte \(index)")
    }
    // Malformed signatures and keys are simply not valid.
    #expect(!Signature.isValid("not base64!", of: bytes, publicKey: key.publicKey))
    #expect(!Signature.isValid(String(signature.dropLast()), of: bytes, publicKey: key.publicKey))
    #expect(!Signature.isValid(Base64.encode(raw.dropLast()), of: bytes, publicKey: key.publicKey))
    #expect(!Signature.isValid(Base64.encode(raw + [0]), of: bytes, publicKey: key.publicKey))
    #expect(!Signature.isValid("", of: bytes, publicKey: key.publicKey))
    let publicKey = try #require(Base64.decode(key.publicKey))
    #expect(!Signature.isValid(signature, of: bytes, publicKey: Base64.encode(publicKey.dropLast())))
    #expect(!Signature.isValid(signature, of: bytes, publicKey: Base64.encode(publicKey + [0])))
    #expect(!Signature.isValid(signature, of: bytes, publicKey: "garbage"))
}

@Test func keysRoundTripThroughTheirBase64() throws {
    let key = SigningKey()
    let again = try SigningKey(privateKeyBase64: key.privateKeyBase64)
    #expect(again.publicKey == key.publicKey)
    #expect(Signature.isValid(again.sign([1, 2, 3]), of: [1, 2, 3], publicKey: key.publicKey))
    #expect(SigningKey().publicKey != key.publicKey)
    #expect(Signature.isPublicKey(key.publicKey))
    #expect(!Signature.isPublicKey(Base64.encode([UInt8](repeating: 1, count: 31))))
    #expect(!Signature.isPublicKey("Zm9v"))
    #expect(!Signature.isPublicKey(""))
    for text in [
        "", "Zm9v", Base64.encode([UInt8](repeating: 1, count: 31)), Base64.encode([UInt8](repeating: 1, count: 33)),
    ] {
        #expect(throws: ProtocolError.self) { try SigningKey(privateKeyBase64: text) }
    }
}

// MARK: - Signed changes

private let sampleChange = Change(
    changeID: testID(1), table: "organisation", recordID: testID(2), op: .update,
    fields: ["name": .string("Acme"), "sector": .string("public")], baseVersion: 3,
    hlc: "001767225600000.00000.dev-a", device: "dev-a")

@Test func aChangeSignsItsRFC8785BytesWithoutTheSignature() throws {
    let signed = sampleChange.signed(with: deviceA)
    #expect(signed.isSigned(by: deviceA.publicKey))
    #expect(!signed.isSigned(by: deviceB.publicKey))
    #expect(!sampleChange.isSigned(by: deviceA.publicKey))
    #expect(signed.signingBytes == sampleChange.signingBytes)
    #expect(sampleChange.signingBytes == sampleChange.json.canonicalBytes())
    let signature = try #require(signed.signature)
    #expect(Signature.isValid(signature, of: sampleChange.json.canonicalBytes(), publicKey: deviceA.publicKey))
    // What the history keeps reads back into a change that still verifies.
    let kept = try Change(json: JSONValue.parse(signed.json.canonicalText()))
    #expect(kept.isSigned(by: deviceA.publicKey))
}

@Test(arguments: 0..<12)
func changingAnyMemberOfASignedChangeBreaksItsSignature(member: Int) {
    var change = sampleChange.signed(with: deviceA)
    switch member {
    case 0: change.changeID = testID(99)
    case 1: change.table = "person"
    case 2: change.recordID = testID(3)
    case 3: change.op = .insert
    case 4: change.fields["name"] = .string("Acme!")
    case 5: change.fields["extra"] = .null
    case 6: change.fields["sector"] = nil
    case 7: change.fields["name"] = .array([.string("Acme")])
    case 8: change.baseVersion = 4
    case 9: change.hlc = "001767225600000.00001.dev-a"
    case 10: change.device = "dev-b"
    default: change.signature = deviceA.sign(Array("something else".utf8))
    }
    #expect(!change.isSigned(by: deviceA.publicKey))
}

// MARK: - Log entries

@Test func aLogEntryHashesItsPreviousHashAndItsRFC8785Bytes() throws {
    let entry = wellFormedAuditHistory().entries[5]
    var input = try #require(Digest.bytes(hex: entry.prevHash))
    #expect(input.count == 32)
    input += entry.unhashedJSON.canonicalBytes()
    #expect(entry.hash == Digest.sha256Hex(input))
    #expect(entry.hash.utf8.count == 64 && entry.hash == entry.hash.lowercased())
    // Deterministic: the same history twice has the same hashes.
    #expect(wellFormedAuditHistory().entries.map(\.hash) == wellFormedAuditHistory().entries.map(\.hash))
    // Every member is hashed, and so is the previous hash.
    var altered = entry
    altered.time = "2026-01-01T00:00:00Z"
    #expect(LogEntry.hash(prevHash: entry.prevHash, unhashed: altered.unhashedJSON) != entry.hash)
    #expect(LogEntry.hash(prevHash: LogEntry.genesisHash, unhashed: entry.unhashedJSON) != entry.hash)
    #expect(LogEntry.genesisHash == String(repeating: "0", count: 64))
    #expect(wellFormedAuditHistory().entries[0].prevHash == LogEntry.genesisHash)
}

@Test func sha256IsTheStandardOne() {
    #expect(Digest.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(Digest.bytes(hex: "00ff10") == [0, 255, 16])
    #expect(Digest.bytes(hex: "0") == nil)
    #expect(Digest.bytes(hex: "0G") == nil)
    #expect(Digest.bytes(hex: "AB") == nil)
}

@Test func aLogEntryLineIsItsRFC8785TextAndReadsBack() throws {
    for entry in wellFormedAuditHistory().entries {
        let line = entry.line
        #expect(line == entry.json.canonicalText())
        #expect(!line.contains("\n"))
        let read = try LogEntry(json: JSONValue.parse(line))
        #expect(read.line == line)
        #expect(read.hash == entry.hash)
        #expect(read.seq == entry.seq && read.time == entry.time && read.author == entry.author)
        #expect(read.prevHash == entry.prevHash)
        #expect(read.change.canonicalText() == entry.change.canonicalText())
        #expect(read.outcome.canonicalText() == entry.outcome.canonicalText())
        // Read back from its line, an entry is a fixed point.
        #expect(try LogEntry(json: JSONValue.parse(read.line)) == read)
    }
}

@Test func checkpointsSignSeqHashAndTime() throws {
    let checkpoint = Checkpoint(
        seq: 9, hash: String(repeating: "ab", count: 32), time: "2026-01-01T00:00:09Z", signedBy: auditKey(1))
    #expect(checkpoint.isSignatureValid)
    #expect(
        String(decoding: checkpoint.signingBytes, as: UTF8.self)
            == #"{"hash":"\#(checkpoint.hash)","seq":9,"time":"2026-01-01T00:00:09Z"}"#)
    #expect(try Checkpoint(json: JSONValue.parse(checkpoint.json.canonicalText())) == checkpoint)
    for change in 0..<3 {
        var altered = checkpoint
        switch change {
        case 0: altered.seq = 10
        case 1: altered.hash = String(repeating: "ac", count: 32)
        default: altered.time = "2026-01-01T00:00:10Z"
        }
        #expect(!altered.isSignatureValid)
    }
}

// MARK: - The verifier: a well-formed history

@Test func aWellFormedHistoryVerifies() {
    let history = wellFormedAuditHistory()
    #expect(history.entries.count == 9)
    #expect(verifyHistory(history.lines) == nil)
    #expect(verifyHistory(history.lines, checkpoints: [history.checkpoint(), history.checkpoint(at: 5)]) == nil)
    var verifier = ChainVerifier()
    for line in history.lines { _ = try? verifier.append(line: Array(line.utf8)) }
    #expect(verifier.seq == 9)
    #expect(verifier.hash == history.head.hash)
    #expect(verifier.serverKey == history.serverKey.publicKey)
}

@Test func aLaterHistoryExtendsAKeptCheckpoint() {
    var history = wellFormedAuditHistory()
    let kept = history.checkpoint()
    history.edit(by: "dev-b", of: "org-b", signedBy: deviceB)
    history.serverEdit()
    #expect(verifyHistory(history.lines, checkpoints: [kept, history.checkpoint()]) == nil)
}

@Test func changesTheServerRejectedForTheirSignatureAreKeptAsEvidence() {
    var history = standardAuditHistory()
    // No signature; a signature by another key; an unregistered device; a device of another
    // organisation; a member's change naming device `server`: all rejected with `signature`.
    history.edit(by: "dev-a", of: "org-a", signedBy: nil, outcome: .rejected("signature"))
    history.edit(by: "dev-a", of: "org-a", signedBy: deviceB, outcome: .rejected("signature"))
    history.edit(by: "dev-x", of: "org-a", signedBy: nil, outcome: .rejected("signature"))
    history.edit(by: "dev-b", of: "org-a", signedBy: deviceB, outcome: .rejected("signature"))
    history.edit(by: "server", of: "org-a", signedBy: deviceA, outcome: .rejected("signature"))
    history.edit(by: "dev-a", of: "org-a", signedBy: deviceA)
    #expect(verifyHistory(history.lines) == nil)
}

@Test func aRejectedChangeToTheDeviceTableRegistersNothing() {
    var history = standardAuditHistory()
    // A member pushes a change to `_device`, signed by its own device: the server refuses it.
    let fields: [String: JSONValue] = [
        "organisation": .string("org-a"), "role": .string("member"), "public_key": .string(strangerKey.publicKey),
    ]
    history.edit(
        by: "dev-a", of: "org-a", signedBy: deviceA, fields: fields, table: DeviceRegistry.table, recordID: "dev-z",
        outcome: .rejected("schema:table"))
    #expect(verifyHistory(history.lines) == nil)
    // The key it named was not registered: a change signed by it is refused by the verifier.
    history.edit(by: "dev-z", of: "org-a", signedBy: strangerKey)
    #expect(verifyHistory(history.lines)?.seq == 5)
}

// MARK: - The verifier: tampering, each named at its seq

@Test func anAlteredFieldIsNamedAtItsSeq() {
    let history = wellFormedAuditHistory()
    var lines = history.lines
    lines[5] = replacingFirst("Acme 2", with: "Acme 3", in: lines[5])
    let failure = verifyHistory(lines)
    #expect(failure?.seq == 6)
    #expect(failure?.problem.contains("hash") == true)
    // Altered anywhere: the time, the author, the outcome, a number.
    for (old, new) in [
        ("2026-01-01T00:00:0", "2026-01-01T00:00:1"), ("org-a", "org-b"), ("applied", "merged"), ("0.1", "0.2"),
    ] {
        var lines = history.lines
        lines[5] = replacingFirst(old, with: new, in: lines[5])
        #expect(verifyHistory(lines)?.seq == 6, "\(old) → \(new)")
    }
}

@Test func anAlteredEntryWhoseHashIsRecomputedIsNamedAtItsSignatureOrTheNextSeq() {
    let history = wellFormedAuditHistory()
    // The outcome is not signed: rehashed, entry 6 is consistent, and entry 7 no longer chains.
    var entry = history.entries[5]
    entry.outcome = Outcome(status: .rejected, reason: "not_permitted").json
    let rehashed = LogEntry(
        seq: entry.seq, time: entry.time, author: entry.author, change: entry.change, outcome: entry.outcome,
        prevHash: entry.prevHash)
    var lines = history.lines
    lines[5] = rehashed.line
    #expect(verifyHistory(lines)?.seq == 7)
    // The checkpoint at the head betrays even a history rebuilt from there on.
    var rebuilt = Array(history.entries[..<5])
    for original in history.entries[5...] {
        let outcome = original.seq == 6 ? entry.outcome : original.outcome
        rebuilt.append(
            LogEntry(
                seq: original.seq, time: original.time, author: original.author, change: original.change,
                outcome: outcome, prevHash: rebuilt.last!.hash))
    }
    #expect(verifyHistory(rebuilt.map(\.line)) == nil)
    #expect(verifyHistory(rebuilt.map(\.line), checkpoints: [history.checkpoint()])?.seq == 9)
    // The change is signed: rehashed, an altered field is a bad signature at its own seq.
    guard case var .object(members) = entry.change else {
        Issue.record("the change is not an object")
        return
    }
    members = members.map { $0.key == "base_version" ? JSONMember("base_version", .int(7)) : $0 }
    let forged = LogEntry(
        seq: entry.seq, time: entry.time, author: entry.author, change: .object(members),
        outcome: history.entries[5].outcome, prevHash: entry.prevHash)
    lines = history.lines
    lines[5] = forged.line
    let failure = verifyHistory(lines)
    #expect(failure?.seq == 6)
    #expect(failure?.problem.contains("signature") == true)
}

@Test func swappedEntriesAreNamedAtTheFirst() {
    var lines = wellFormedAuditHistory().lines
    lines.swapAt(3, 4)
    #expect(verifyHistory(lines)?.seq == 4)
}

@Test func aRemovedEntryIsNamed() {
    var lines = wellFormedAuditHistory().lines
    lines.remove(at: 4)
    let failure = verifyHistory(lines)
    #expect(failure?.seq == 5)
    #expect(failure?.problem.contains("missing") == true)
}

@Test func aTruncatedHistoryIsCaughtByALaterCheckpoint() {
    let history = wellFormedAuditHistory()
    let lines = Array(history.lines[..<6])
    #expect(verifyHistory(lines) == nil)
    let failure = verifyHistory(lines, checkpoints: [history.checkpoint()])
    #expect(failure?.seq == 7)
    #expect(failure?.problem.contains("truncated") == true)
}

@Test func anUnsignedChangeIsNamed() {
    var history = standardAuditHistory()
    history.edit(by: "dev-a", of: "org-a", signedBy: nil)
    history.edit(by: "dev-a", of: "org-a", signedBy: deviceA)
    let failure = verifyHistory(history.lines)
    #expect(failure?.seq == 4)
    #expect(failure?.problem.contains("no signature") == true)
    // Rejected for another reason, a change must still be signed: the server checks signatures first.
    history = standardAuditHistory()
    history.edit(by: "dev-a", of: "org-a", signedBy: nil, outcome: .rejected("not_permitted"))
    #expect(verifyHistory(history.lines)?.seq == 4)
}

@Test func aChangeFromADeviceOfAnotherOrganisationIsNamed() {
    var history = standardAuditHistory()
    history.edit(by: "dev-b", of: "org-a", signedBy: deviceB)
    let failure = verifyHistory(history.lines)
    #expect(failure?.seq == 4)
    #expect(failure?.problem.contains("belongs to org-b") == true)
}

@Test func aChangeFromAnUnregisteredDeviceIsNamed() {
    var history = standardAuditHistory()
    history.edit(by: "dev-z", of: "org-a", signedBy: strangerKey)
    let failure = verifyHistory(history.lines)
    #expect(failure?.seq == 4)
    #expect(failure?.problem.contains("not registered") == true)
    // Registered only later is not registered yet.
    history.register(device: "dev-z", key: strangerKey, organisation: "org-a")
    #expect(verifyHistory(history.lines)?.seq == 4)
}

@Test func aBadDeviceSignatureIsNamed() {
    var history = standardAuditHistory()
    history.edit(by: "dev-a", of: "org-a", signedBy: deviceA)
    history.edit(by: "dev-a", of: "org-a", signedBy: deviceB)
    let failure = verifyHistory(history.lines)
    #expect(failure?.seq == 5)
    #expect(failure?.problem.contains("does not verify") == true)
}

@Test func registrationsAndServerChangesNeedTheServerKey() {
    var history = standardAuditHistory()
    history.register(device: "dev-c", key: strangerKey, organisation: "org-c", signedBy: strangerKey)
    #expect(verifyHistory(history.lines)?.seq == 4)

    history = standardAuditHistory()
    history.serverEdit(signedBy: deviceA)
    #expect(verifyHistory(history.lines)?.seq == 4)

    // A registration made by a device, not by the server, applied.
    history = standardAuditHistory()
    let fields: [String: JSONValue] = [
        "organisation": .string("org-a"), "role": .string("member"), "public_key": .string(strangerKey.publicKey),
    ]
    history.edit(
        by: "dev-a", of: "org-a", signedBy: deviceA, fields: fields, table: DeviceRegistry.table,
        outcome: Outcome(status: .applied, version: 1, applied: ["organisation", "public_key", "role"]))
    #expect(verifyHistory(history.lines)?.seq == 4)

    // A device registered twice.
    history = standardAuditHistory()
    history.register(device: "dev-a", key: strangerKey, organisation: "org-a")
    #expect(verifyHistory(history.lines)?.seq == 4)
}

@Test func theServerKeyRegisteredASecondTimeIsNamed() {
    var history = standardAuditHistory()
    history.edit(by: "dev-a", of: "org-a", signedBy: deviceA)
    history.registerServerKey(strangerKey, signedBy: history.serverKey)
    history.edit(by: "dev-a", of: "org-a", signedBy: deviceA)
    let failure = verifyHistory(history.lines)
    #expect(failure?.seq == 5)
    #expect(failure?.problem.contains("registered again") == true)
}

@Test func anEntryOneThatDoesNotRegisterTheServerKeyIsNamed() {
    var history = AuditHistory(registeringServerKey: false)
    history.register(device: "dev-a", key: deviceA, organisation: "org-a")
    #expect(verifyHistory(history.lines)?.seq == 1)

    history = AuditHistory(registeringServerKey: false)
    history.serverEdit()
    #expect(verifyHistory(history.lines)?.seq == 1)

    // Not even as a change "rejected for its signature", which is otherwise let through.
    history = AuditHistory(registeringServerKey: false)
    history.edit(by: "dev-a", of: "org-a", signedBy: nil, outcome: .rejected("signature"))
    history.registerServerKey()
    #expect(verifyHistory(history.lines)?.seq == 1)

    // The server's key registration signed by another key.
    history = AuditHistory(registeringServerKey: false)
    history.registerServerKey(signedBy: strangerKey)
    #expect(verifyHistory(history.lines)?.seq == 1)

    #expect(verifyHistory([]) == nil)
}

@Test func aCheckpointSignedByAnotherKeyIsNamed() {
    let history = wellFormedAuditHistory()
    let failure = verifyHistory(history.lines, checkpoints: [history.checkpoint(signedBy: strangerKey)])
    #expect(failure?.seq == 9)
    #expect(failure?.problem.contains("not the server's") == true)
    // The server key replaced: the same changes re-chained under a new key, against the old checkpoint.
    var replaced = AuditHistory(serverKey: strangerKey)
    replaced.register(device: "dev-a", key: deviceA, organisation: "org-a")
    replaced.register(device: "dev-b", key: deviceB, organisation: "org-b")
    #expect(verifyHistory(replaced.lines) == nil)
    #expect(verifyHistory(replaced.lines, checkpoints: [standardAuditHistory().checkpoint()])?.seq == 3)
}

@Test func aCheckpointWithABadSignatureIsNamed() throws {
    let history = wellFormedAuditHistory()
    var checkpoint = history.checkpoint(at: 8)
    var signature = try #require(Base64.decode(checkpoint.signature))
    signature[10] ^= 0x80
    checkpoint.signature = Base64.encode(signature)
    let failure = verifyHistory(history.lines, checkpoints: [checkpoint])
    #expect(failure?.seq == 8)
    #expect(failure?.problem.contains("signature") == true)
}

@Test func aCheckpointFromAForkedHistoryIsNamed() {
    var original = standardAuditHistory()
    original.edit(by: "dev-a", of: "org-a", signedBy: deviceA)
    var fork = original
    original.edit(by: "dev-a", of: "org-a", signedBy: deviceA, fields: ["name": .string("One")])
    original.edit(by: "dev-b", of: "org-b", signedBy: deviceB)
    fork.edit(by: "dev-a", of: "org-a", signedBy: deviceA, fields: ["name": .string("Other")])
    fork.edit(by: "dev-b", of: "org-b", signedBy: deviceB)
    #expect(verifyHistory(fork.lines) == nil)
    #expect(verifyHistory(fork.lines, checkpoints: [original.checkpoint(at: 4)]) == nil)
    let failure = verifyHistory(fork.lines, checkpoints: [original.checkpoint(at: 4), original.checkpoint()])
    #expect(failure?.seq == 6)
    #expect(failure?.problem.contains("forked") == true)
}

@Test func aLineThatIsNotAnEntryIsNamed() {
    var lines = wellFormedAuditHistory().lines
    lines[2] = "{\"seq\":3"
    #expect(verifyHistory(lines)?.seq == 3)
    lines[2] = "[]"
    #expect(verifyHistory(lines)?.seq == 3)
    lines[2] = "{\"seq\":3}"
    #expect(verifyHistory(lines)?.seq == 3)
}

/// The push path writes an entry's RFC 8785 text once for its hash and its line
/// (`LogEntry.chained`): both must be exactly what the general writer makes of the entry,
/// whatever the change's own member names (`hash`, `outcome`…) or values.
@Test(arguments: [
    ["hash": JSONValue.string("x"), "outcome": .int(1), "zzz": .null],
    ["é": .string("\u{1F600}\n\"\\"), "a": .array([.object([JSONMember("seq", .double(1e21))])])],
    [:],
])
func aChainedEntryIsWhatTheGeneralWriterMakes(fields: [String: JSONValue]) {
    let change = Change(
        changeID: "0193a1b2-0000-7000-8000-000000000001", table: "round",
        recordID: "0193a1b2-0000-7000-8000-000000000002", op: .insert, fields: fields, baseVersion: 0,
        hlc: "001763812345678.00000.d", device: "d", signature: "c2ln")
    let outcome = Outcome(
        status: .conflict, version: 3, applied: ["a"],
        conflicts: [FieldConflict(field: "b", rule: .lww, kept: .string("k"), lost: .double(0.1))])
    let (entry, line) = LogEntry.chained(
        seq: 9_007_199_254_740_991, time: "2026-11-23T10:00:00.000Z",
        author: Author(organisation: "org-a", role: .member, device: "d"), change: change.json, outcome: outcome.json,
        prevHash: String(repeating: "ab", count: 32))
    #expect(line == entry.json.canonicalText())
    #expect(entry.hash == LogEntry.hash(prevHash: entry.prevHash, unhashed: entry.unhashedJSON))
    #expect(line == entry.line)
}
