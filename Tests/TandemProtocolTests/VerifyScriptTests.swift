import Foundation
import TandemProtocol
import TandemTesting
import Testing

// scripts/verify-history.py, the auditor's verifier without Tandem, against histories Swift
// builds: it must accept what Tandem writes, name the seq ChainVerifier names, and agree with
// the worked example of docs/audit.md.

/// The package's root folder (this file is `Tests/TandemProtocolTests/VerifyScriptTests.swift`).
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

private struct ScriptRun {
    var status: Int32
    var stdout: String
    var stderr: String
    var output: String { stdout + stderr }

    /// N of the `seq N: problem` line, nil when there is none.
    var failedSeq: Int64? {
        guard let range = output.range(of: #"seq [0-9]+:"#, options: .regularExpression) else { return nil }
        return Int64(output[range].dropFirst(4).dropLast())
    }
}

/// `python3 ARGUMENTS` from the package root.
private func python(_ arguments: [String]) throws -> ScriptRun {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3"] + arguments
    process.currentDirectoryURL = packageRoot
    var environment = ProcessInfo.processInfo.environment
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    process.environment = environment
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    let out = stdout.fileHandleForReading.readDataToEndOfFile()
    let err = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ScriptRun(
        status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
        stderr: String(decoding: err, as: UTF8.self))
}

/// Whether python3 runs; records a failure saying how to get it when it does not.
private func pythonIsThere() throws -> Bool {
    let run = try python(["--version"])
    guard run.status == 0 else {
        Issue.record("python3 is missing (\(run.output)): scripts/install-deps.sh installs it")
        return false
    }
    return true
}

/// Whether python3 runs and the script can check signatures: it needs the `cryptography` module
/// (Debian's python3-cryptography), without which it checks hashes only and would accept forged
/// signatures. Records a failure saying how to get it when it is missing: a missing tool fails
/// these tests, it never weakens them.
private func pythonChecksSignatures() throws -> Bool {
    guard try pythonIsThere() else { return false }
    let run = try python(["-c", "import cryptography.hazmat.primitives.asymmetric.ed25519"])
    guard run.status == 0 else {
        Issue.record(
            """
            python3's cryptography module is missing, so scripts/verify-history.py cannot check \
            signatures (\(run.output)): scripts/install-deps.sh installs it (python3-cryptography)
            """)
        return false
    }
    return true
}

/// Runs the script on `lines` written to a temporary NDJSON file.
private func verifyWithScript(_ lines: [String]) throws -> ScriptRun {
    let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tandem-verify-\(UUID())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let file = folder.appendingPathComponent("history.ndjson")
    try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: file)
    return try python(["scripts/verify-history.py", file.path])
}

/// A history whose values test every RFC 8785 rule a hand-written serialiser gets wrong.
private func trickyHistory() -> AuditHistory {
    var history = standardAuditHistory()
    let fields: [String: JSONValue] = [
        "share": .double(0.1), "tiny": .double(1e-7), "huge": .double(1e21), "plain": .double(1e20),
        "half": .double(-1.5), "round": .double(5), "big": .int(9_007_199_254_740_993),
        "note": .string("line one\nline \"two\" \\ tab\t — Zürich ☃ 😀 \u{2028} \u{01} / \u{7F}"),
        "tags": .array([.string("a"), .array([.int(1), .double(2.5), .null, .bool(true)]), .object([])]),
        "ö": .string("o"), "\u{FB33}": .string("dalet"), "😀": .string("grin"), "\r": .string("cr"),
    ]
    history.edit(by: "dev-a", of: "org-a", signedBy: deviceA, fields: fields)  // 4
    history.serverEdit()  // 5
    history.edit(by: "dev-a", of: "org-a", signedBy: nil, outcome: .rejected("signature"))  // 6
    history.edit(
        by: "dev-b", of: "org-b", signedBy: deviceB,
        fields: ["nested": .object([JSONMember("b", .int(1)), JSONMember("a", .array([]))])])  // 7
    return history
}

@Test func theScriptAcceptsAHistoryTandemWrites() throws {
    guard try pythonChecksSignatures() else { return }
    let history = trickyHistory()
    #expect(verifyHistory(history.lines) == nil)
    let run = try verifyWithScript(history.lines)
    #expect(run.status == 0, "\(run.output)")
    #expect(run.stdout == "ok: 7 entries, head \(history.head.hash)\n", "\(run.output)")
}

/// A signature that is not the device's over these bytes — its bytes altered, one the device
/// made over other fields, one another device made — is refused at its seq, by the script as by
/// ChainVerifier, though every hash in the chain is sound.
@Test func theScriptRefusesAForgedSignature() throws {
    guard try pythonChecksSignatures() else { return }
    var history = standardAuditHistory()
    let genuine = history.change(device: "dev-a").signed(with: deviceA)
    var flipped = genuine
    let signature = try #require(genuine.signature)
    var bytes = try #require(Base64.decode(signature))
    bytes[7] ^= 0x01
    flipped.signature = Base64.encode(bytes)
    var otherFields = genuine
    otherFields.fields = ["name": .string("Acme Forged")]
    let otherDevice = history.change(device: "dev-a").signed(with: deviceB)
    for (what, forged) in [("altered bytes", flipped), ("other fields", otherFields), ("another key", otherDevice)] {
        var forgery = history
        forgery.append(
            change: forged.json, author: Author(organisation: "org-a", role: .member, device: "dev-a"),
            outcome: Outcome(status: .applied, version: 1, applied: ["name"]))
        #expect(verifyHistory(forgery.lines)?.seq == 4, "\(what)")
        let run = try verifyWithScript(forgery.lines)
        #expect(run.status == 65, "\(what): \(run.output)")
        #expect(
            run.stderr == "seq 4: the signature does not verify with device dev-a's key\n", "\(what): \(run.output)")
    }
    // The genuine one, in the same place, verifies.
    history.append(
        change: genuine.json, author: Author(organisation: "org-a", role: .member, device: "dev-a"),
        outcome: Outcome(status: .applied, version: 1, applied: ["name"]))
    #expect(try verifyWithScript(history.lines).status == 0)
}

@Test func theScriptNamesTheEntryWithAnAlteredByte() throws {
    guard try pythonIsThere() else { return }
    var lines = trickyHistory().lines
    lines[1] = replacingFirst("org-a", with: "org-b", in: lines[1])
    let run = try verifyWithScript(lines)
    #expect(run.status == 65, "\(run.output)")
    #expect(run.output.contains("seq 2:"), "\(run.output)")
    #expect(run.output.split(separator: "\n").count == 1, "\(run.output)")

    lines = trickyHistory().lines
    lines[3] = replacingFirst("0.1", with: "0.2", in: lines[3])
    #expect(try verifyWithScript(lines).failedSeq == 4)
}

/// The script and ChainVerifier name the same seq, whatever was done to the history.
@Test func theScriptAndTheVerifierNameTheSameSeq() throws {
    guard try pythonChecksSignatures() else { return }
    let good = wellFormedAuditHistory().lines
    var cases: [(String, [String])] = []  // what, lines
    var swapped = good
    swapped.swapAt(3, 4)
    cases.append(("swapped", swapped))
    var removed = good
    removed.remove(at: 4)
    cases.append(("removed", removed))
    cases.append(("truncated to 6", Array(good[..<6])))
    var history = standardAuditHistory()
    history.edit(by: "dev-a", of: "org-a", signedBy: nil)
    cases.append(("unsigned", history.lines))
    history = standardAuditHistory()
    history.edit(by: "dev-b", of: "org-a", signedBy: deviceB)
    cases.append(("another organisation's device", history.lines))
    history = standardAuditHistory()
    history.edit(by: "dev-z", of: "org-a", signedBy: strangerKey)
    cases.append(("unregistered device", history.lines))
    history = standardAuditHistory()
    history.edit(by: "dev-a", of: "org-a", signedBy: deviceA)
    history.edit(by: "dev-a", of: "org-a", signedBy: deviceB)
    cases.append(("bad device signature", history.lines))
    history = standardAuditHistory()
    history.registerServerKey(strangerKey, signedBy: history.serverKey)
    cases.append(("server key again", history.lines))
    history = standardAuditHistory()
    history.register(device: "dev-c", key: strangerKey, organisation: "org-c", signedBy: strangerKey)
    cases.append(("registration not signed by the server", history.lines))
    history = AuditHistory(registeringServerKey: false)
    history.register(device: "dev-a", key: deviceA, organisation: "org-a")
    cases.append(("entry 1 not the server key", history.lines))
    history = standardAuditHistory()
    history.edit(by: "server", of: "org-a", signedBy: deviceA, outcome: .rejected("signature"))
    history.edit(by: "dev-a", of: "org-a", signedBy: nil, outcome: .rejected("signature"))
    cases.append(("rejected for their signatures", history.lines))

    for (what, lines) in cases {
        let expected = verifyHistory(lines)?.seq
        let run = try verifyWithScript(lines)
        #expect(run.failedSeq == expected, "\(what): \(run.output)")
        #expect(run.status == (expected == nil ? 0 : 65), "\(what): \(run.output)")
    }
}

// MARK: - The worked example of docs/audit.md

/// RFC 8032 §7.1's TEST 1 and TEST 2 secret keys: the server's and the device's in the example.
let workedServerKey = try! SigningKey(
    privateKeyBase64: Base64.encode(
        Digest.bytes(hex: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")!))
let workedDeviceKey = try! SigningKey(
    privateKeyBase64: Base64.encode(
        Digest.bytes(hex: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")!))

/// docs/audit.md's two entries: the server's key, then device `laptop-1` for `org-a`.
func workedExample() -> [LogEntry] {
    let first = DeviceRegistry.registration(
        device: "server", publicKey: workedServerKey.publicKey, organisation: nil, role: .server,
        changeID: "019b76da-a800-7000-8000-000000000001", hlc: "001767225600000.00000.server"
    ).signed(with: workedServerKey)
    let entry1 = LogEntry(
        seq: 1, time: "2026-01-01T00:00:00.000Z", author: Author(organisation: nil, role: .server, device: "server"),
        change: first.json, outcome: Outcome(status: .applied, version: 1, applied: first.fields.keys.sorted()).json,
        prevHash: LogEntry.genesisHash)
    let second = DeviceRegistry.registration(
        device: "laptop-1", publicKey: workedDeviceKey.publicKey, organisation: "org-a", role: .member,
        changeID: "019b76da-abe8-7000-8000-000000000002", hlc: "001767225601000.00000.server"
    ).signed(with: workedServerKey)
    let entry2 = LogEntry(
        seq: 2, time: "2026-01-01T00:00:01.000Z",
        author: Author(organisation: "org-a", role: .member, device: "server"),
        change: second.json, outcome: Outcome(status: .applied, version: 1, applied: second.fields.keys.sorted()).json,
        prevHash: entry1.hash)
    return [entry1, entry2]
}

@Test func theWorkedExampleInTheDocsIsWhatTheCodeComputes() throws {
    let doc = try String(contentsOf: packageRoot.appendingPathComponent("docs/audit.md"), encoding: .utf8)
    let entries = workedExample()
    #expect(verifyHistory(entries.map(\.line)) == nil)
    #expect(doc.contains(workedServerKey.publicKey))
    #expect(doc.contains(workedDeviceKey.publicKey))
    for entry in entries {
        #expect(doc.contains(entry.unhashedJSON.canonicalText()), "entry \(entry.seq)'s canonical text")
        #expect(doc.contains(entry.line), "entry \(entry.seq)'s line")
        #expect(doc.contains(entry.hash), "entry \(entry.seq)'s hash")
        #expect(doc.contains("\(entry.unhashedJSON.canonicalBytes().count) bytes"), "entry \(entry.seq)'s size")
        if case let .string(signature)? = entry.change["signature"] { #expect(doc.contains(signature)) }
        let signingBytes = try Change(json: entry.change).signingBytes
        #expect(doc.contains(String(decoding: signingBytes, as: UTF8.self)), "entry \(entry.seq)'s signed bytes")
        #expect(doc.contains("\(signingBytes.count) bytes"), "entry \(entry.seq)'s signed size")
    }
    guard try pythonChecksSignatures() else { return }
    let run = try verifyWithScript(entries.map(\.line))
    #expect(run.stdout == "ok: 2 entries, head \(entries[1].hash)\n", "\(run.output)")
}

// MARK: - Personal data in the worked example (docs/audit.md, "Personal data")

/// Entry 3 of docs/audit.md: device `laptop-1` adds a person; its personal values are committed
/// to, their openings beside the line. The entry, and the line as a coordinator's history serves it.
func personalWorkedExample() -> (entry: LogEntry, change: Change, openings: [Opening], line: String) {
    let previous = workedExample()[1]
    let (sealed, openings) = Change(
        changeID: "019b76da-afd0-7000-8000-000000000003", table: "person",
        recordID: "019b76da-afd0-7000-8000-0000000000a1", op: .insert,
        fields: [
            "organisation": .string("org-a"), "full_name": .string("Ana Novak"),
            "email": .string("ana.novak@org-a.example"),
        ], baseVersion: 0, hlc: "001767225602000.00000.laptop-1", device: "laptop-1"
    ).sealed(personal: ["full_name", "email"], salts: SaltKey(workedDeviceKey))
    let change = sealed.signed(with: workedDeviceKey)
    let entry = LogEntry(
        seq: 3, time: "2026-01-01T00:00:02.000Z",
        author: Author(organisation: "org-a", role: .member, device: "laptop-1"),
        change: change.json,
        outcome: Outcome(status: .applied, version: 1, applied: ["email", "full_name", "organisation"]).json,
        prevHash: previous.hash)
    return (entry, change, openings, LogEntry.line(entry.line, with: Openings(openings)))
}

@Test func thePersonalWorkedExampleInTheDocsIsWhatTheCodeComputes() throws {
    let doc = try String(contentsOf: packageRoot.appendingPathComponent("docs/audit.md"), encoding: .utf8)
    let example = personalWorkedExample()
    let lines = workedExample().map(\.line) + [example.line]
    #expect(verifyHistory(lines) == nil)
    #expect(doc.contains(example.line), "the line with its values:\n\(example.line)")
    #expect(doc.contains(example.entry.hash), "hash \(example.entry.hash)")
    #expect(doc.contains(String(decoding: example.change.signingBytes, as: UTF8.self)), "signed bytes")
    for opening in example.openings {
        // The table's row: salt, value, commitment.
        let value = String(decoding: opening.value.canonicalBytes(), as: UTF8.self)
        #expect(doc.contains("`\(opening.salt)` | `\(value)` | `\(opening.commitment ?? "-")` |"), "\(opening)")
    }
    guard try pythonChecksSignatures() else { return }
    let run = try verifyWithScript(lines)
    #expect(run.stdout == "ok: 3 entries, head \(example.entry.hash)\n", "\(run.output)")
    // The values can go (an erasure) and everything still verifies.
    #expect(try verifyWithScript(workedExample().map(\.line) + [example.entry.line]).status == 0)
}

/// A value beside an entry that does not open its commitment — altered with the right salt, or
/// two salts swapped — is caught by the script and by ChainVerifier, at the same seq.
@Test func anAlteredValueOrSwappedSaltsBesideAnEntryAreCaught() throws {
    let example = personalWorkedExample()
    let base = workedExample().map(\.line)
    var altered = Openings(example.openings)
    let name = try #require(example.openings.first { $0.value == .string("Ana Novak") })
    altered[try #require(name.commitment)]?.value = .string("Ana Nowak")
    var swapped = Openings(example.openings)
    let (first, second) = (example.openings[0], example.openings[1])
    swapped[try #require(first.commitment)]?.salt = second.salt
    swapped[try #require(second.commitment)]?.salt = first.salt
    var stray = Openings(example.openings)
    let other = Opening(salt: String(repeating: "0", count: 32), value: .string("someone else"))
    stray[try #require(other.commitment)] = other
    for (what, values) in [("altered", altered), ("swapped salts", swapped), ("stray", stray)] {
        let lines = base + [LogEntry.line(example.entry.line, with: values)]
        #expect(verifyHistory(lines)?.seq == 3, "\(what)")
        guard try pythonIsThere() else { continue }
        let run = try verifyWithScript(lines)
        #expect(run.status == 65 && run.failedSeq == 3, "\(what): \(run.output)")
    }
}
