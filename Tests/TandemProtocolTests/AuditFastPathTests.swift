import Testing

@testable import TandemProtocol

// The verifier's fast path (EntryScan): a history line in RFC 8785 form is checked straight from
// its bytes. It must decide exactly as the general path (parse, then write RFC 8785 again) does,
// line by line, however the line was altered — and it must really be taken for what servers write.

/// A history with every kind of entry, and text that needs escapes and non-ASCII UTF-8.
private func variedHistory() -> AuditHistory {
    var history = wellFormedAuditHistory()
    history.edit(
        by: "dev-a", of: "org-a", signedBy: deviceA,
        fields: ["name": .string("Zoë \"Ω\" \\ \n\t\u{01}\u{7F} 😀"), "count": .int(-42), "none": .null])  // 10
    history.edit(by: "dev-b", of: "org-b", signedBy: deviceA)  // 11: a bad signature
    history.edit(by: "dev-b", of: "org-a", signedBy: deviceB)  // 12: a device of another organisation
    history.serverEdit(signedBy: deviceA)  // 13: the server's change, badly signed
    history.edit(by: "dev-a", of: "org-a", signedBy: deviceA, outcome: .rejected("unique:name"))  // 14
    history.edit(by: "dev-z", of: "org-a", signedBy: strangerKey)  // 15: an unregistered device
    return history
}

/// What the verifier made of a line, comparable.
private enum Verdict: Equatable {
    case failure(AuditFailure)
    case check(seq: Int64, signature: String, bytes: [UInt8], publicKey: String, problem: String, valid: Bool)
    case none

    init(_ body: () throws(AuditFailure) -> SignatureCheck?) {
        do {
            if let check = try body() {
                self = .check(
                    seq: check.seq, signature: check.signature, bytes: check.bytes, publicKey: check.publicKey,
                    problem: check.problem, valid: check.run() == nil)
            } else {
                self = .none
            }
        } catch {
            self = .failure(error)
        }
    }
}

/// The general path alone: parse, then ``ChainVerifier/append(json:)``.
private func generalVerdict(_ verifier: inout ChainVerifier, _ line: [UInt8]) -> Verdict {
    Verdict { () throws(AuditFailure) -> SignatureCheck? in
        let json: JSONValue
        do throws(ProtocolError) { json = try JSONValue.parse(bytes: line) } catch {
            throw AuditFailure(seq: verifier.seq + 1, "the entry is not JSON (\(error.message))")
        }
        return try verifier.append(json: json)
    }
}

/// Both paths on `line` after the same verifier state; they must agree, and agree on the state after.
private func expectAlike(_ verifier: ChainVerifier, _ line: [UInt8], _ note: @autoclosure () -> String) {
    var fast = verifier
    var general = verifier
    let fastVerdict = Verdict { () throws(AuditFailure) -> SignatureCheck? in try fast.append(line: line) }
    let generalVerdict = generalVerdict(&general, line)
    #expect(fastVerdict == generalVerdict, "\(note())")
    #expect(fast.seq == general.seq && fast.hash == general.hash, "\(note())")
    #expect(fast.last == general.last, "\(note())")
}

@Test func ordinaryEntriesTakeTheFastPathAndRegistrationsTheGeneralOne() {
    let history = variedHistory()
    var verifier = ChainVerifier()
    for (index, line) in history.lines.enumerated() {
        let bytes = Array(line.utf8)
        let scan = bytes.withUnsafeBufferPointer { EntryScan($0) }
        // Every line a server writes is in RFC 8785 form: the scan reads each of them, but for
        // entry 6, whose `share` is a fraction (numbers other than small integers are left to the
        // general path).
        #expect((scan != nil) == (index != 5), "line \(index + 1)")
        #expect(scan == nil || scan?.seq == Int64(index + 1))
        expectAlike(verifier, bytes, "line \(index + 1)")
        _ = try? verifier.append(line: bytes)
    }
    // Entry 12 names a device of another organisation: the verifier stops before it.
    #expect(verifier.seq == 11)
}

@Test func theFastPathReadsTheSameEntryAsTheGeneralOne() throws {
    let history = variedHistory()
    for (index, entry) in history.entries.enumerated() {
        let line = Array(entry.line.utf8)
        guard index != 5 else { continue }  // a fraction: not read by the scan
        let scan = try #require(line.withUnsafeBufferPointer { EntryScan($0) })
        func text(_ range: Range<Int>?) -> String? { range.map { String(decoding: line[$0], as: UTF8.self) } }
        #expect(scan.seq == entry.seq)
        #expect(text(scan.hash) == entry.hash && text(scan.prevHash) == entry.prevHash)
        #expect(text(scan.time) == entry.time, "line \(index + 1)")
        #expect(text(scan.device) == entry.change["device"].flatMap { if case let .string(s) = $0 { s } else { nil } })
        #expect(
            text(scan.authorDevice) == entry.author.device && text(scan.authorOrganisation) == entry.author.organisation
        )
        #expect(scan.authorRole == entry.author.role)
        // What is hashed, and what is signed, cut straight out of the line.
        var unhashed = Array(line[..<scan.hashMember.lowerBound])
        unhashed += line[scan.hashMember.upperBound...]
        #expect(unhashed == entry.unhashedJSON.canonicalBytes())
        if let member = scan.signatureMember, let change = try? Change(json: entry.change) {
            var signed = Array(line[scan.change.lowerBound..<member.lowerBound])
            signed += line[member.upperBound..<scan.change.upperBound]
            #expect(signed == change.signingBytes, "line \(index + 1)")
        }
    }
}

/// Edits that keep a line JSON but take it out of RFC 8785 form, or change what it says.
private let edits: [(String, String)] = [
    (#"{"author":"#, #"{ "author":"#), (#","change":"#, #", "change":"#), (#""seq":"#, #""seq": "#),
    (#""table":"organisation""#, #""table":"organis\u0061tion""#), (#""op":"insert""#, #""op":"insert","op":"insert""#),
    (#""role":"member""#, #""role":"\u006dember""#), (#""base_version":0"#, #""base_version":0.0"#),
    (#""base_version":0"#, #""base_version":-0"#), (#""base_version":0"#, #""base_version":1e0"#),
    (#""base_version":0"#, #""base_version":00"#), (#""version":1"#, #""version":1.5"#),
    (#""version":1"#, #""version":10000000000000000"#), (#""status":"applied""#, #""status":"rejected""#),
    (#""reason":null"#, #""reason":"signature""#), (#""status":"applied""#, #""status":1"#),
    (#""outcome":{"#, #""outcome":[{"#), (#""organisation":"org-a""#, #""organisation":null"#),
    (#""device":"dev-a""#, #""device":"dev-b""#), (#""author":{"device":"dev-a""#, #""author":{"device":null"#),
    (#""author":{"#, #""author":{"zz":1,"#), (#""change":{"#, #""change":{"a":[1,true,false,null,{}],"#),
    (#","table":"#, #","zz":"\/","table":"#), (#","table":"#, #","zz":"\u00e9","table":"#),
    (#","table":"#, #","zz":"\u001f\b","table":"#), (#","table":"#, #","zz":"\u0008","table":"#),
    (#","table":"#, #","zz":"\u001F","table":"#), (#","table":"#, #","zz":"\ud83d\ude00","table":"#),
    (#","signature":"#, #","signature":null,"sig":"#), (#""signature":""#, #""signature":"A"#),
    (#","time":"#, #","time":1,"tima":"#), (#""seq":"#, #""seq":"1","sek":"#), (#""prev_hash":""#, #""prev_hash":"0"#),
    (#""hash":""#, #""hash":"0"#), (#""hash":""#, #""hash":"\u0030"#), (#""record_id":""#, #""record_id":"x"#),
    (#""table":"organisation""#, #""table":"_device""#), (#""role":"member""#, #""role":"nobody""#),
    (#"}}"#, #"}} "#), (#""name":"#, #""nam\u0065":"#), (#""name":"#, #""Name":"#), (#"Acme"#, "Ac\u{80}me"),
]

@Test func alteredLinesAreJudgedAlikeOnBothPaths() {
    let history = variedHistory()
    var verifier = ChainVerifier()
    var altered = 0
    for line in history.lines {
        for (old, new) in edits {
            guard let range = line.range(of: old) else { continue }
            altered += 1
            expectAlike(verifier, Array(line.replacingCharacters(in: range, with: new).utf8), "\(old) → \(new)")
        }
        _ = try? verifier.append(line: Array(line.utf8))
    }
    #expect(altered > 100)
}

/// A few bytes of `bytes` replaced, inserted or removed, from `alphabet`.
private func mutate(
    _ bytes: inout [UInt8], edits: ClosedRange<Int>, from alphabet: [UInt8], using random: inout SplitMix64
) {
    for _ in 0..<Int.random(in: edits, using: &random) {
        let at = Int.random(in: 0..<bytes.count, using: &random)
        let byte = alphabet.randomElement(using: &random)!
        switch Int.random(in: 0..<3, using: &random) {
        case 0: bytes[at] = byte
        case 1: bytes.insert(byte, at: at)
        default: if bytes.count > 1 { bytes.remove(at: at) }
        }
    }
}

@Test func linesWithRandomBytesChangedAreJudgedAlikeOnBothPaths() {
    var random = SplitMix64.seeded()
    let history = variedHistory()
    let lines = history.lines.map { Array($0.utf8) }
    var verifier = ChainVerifier()
    let alphabet = Array(#"{}[]:,"\ -0123456789.eEabfnrtu"#.utf8) + [0x7F, 0xC3, 0xA9, 0xED, 0xF0, 0x9F]
    for line in lines {
        for _ in 0..<150 {
            var bytes = line
            mutate(&bytes, edits: 1...3, from: alphabet, using: &random)
            expectAlike(verifier, bytes, String(decoding: bytes, as: UTF8.self))
        }
        _ = try? verifier.append(line: line)
    }
}

/// Whatever the scanner accepts is exactly RFC 8785's text of what the parser reads from it.
@Test func whatTheCanonicalScannerAcceptsIsRFC8785() {
    var random = SplitMix64.seeded()
    let samples = [
        #"{"a":[1,-2,0,{"b":"\u001f\n\"\\é😀"}],"c":null,"d":true,"e":false,"f":{}}"#, #"[]"#, #""\b\t\f\r""#,
        #"{"A":1,"B":2,"a":3,"aa":4,"b":5}"#, "123456789012345",
    ]
    let alphabet = Array(#"{}[]:,"\ -0123456789.eEabfnrtuA"#.utf8) + [0x7F, 0xC3, 0xA9, 0xED, 0xA0, 0xF4, 0x90]
    var accepted = 0
    for sample in samples {
        for trial in 0..<2000 {
            var bytes = Array(sample.utf8)
            if trial > 0 { mutate(&bytes, edits: 1...2, from: alphabet, using: &random) }
            let isAccepted = bytes.withUnsafeBufferPointer { buffer in
                var scanner = CanonicalScanner(bytes: buffer)
                return scanner.skipValue() && scanner.position == buffer.count
            }
            guard isAccepted else { continue }
            accepted += 1
            let parsed = try? JSONValue.parse(bytes: bytes)
            #expect(parsed?.canonicalBytes() == bytes, "\(String(decoding: bytes, as: UTF8.self))")
        }
    }
    // Every sample itself is RFC 8785, and many of the edits keep it so.
    #expect(accepted > samples.count)
}

@Test func theLowestBadSignatureIsNamedWhateverTheChunks() {
    var history = standardAuditHistory()
    for index in 4...400 {
        let isBad = index == 37 || index == 150 || index == 390
        history.edit(by: "dev-a", of: "org-a", signedBy: isBad ? deviceB : deviceA)
    }
    for batchSize in [1, 16, 64, 4096] {
        // No one takes the chunks: add and finish check them on this thread.
        var verification = HistoryVerification()
        verification.batchSize = batchSize
        for line in history.lines where !verification.add(line: Array(line.utf8)) { break }
        let report = verification.finish(checkpoints: []) { _ in nil }
        #expect(report.failure?.seq == 37, "batch size \(batchSize)")
        #expect(report.failure?.problem == "the signature does not verify with device dev-a's key")

        // Handed out in chunks, checked elsewhere and reported newest first (as other cores may
        // finish them): still the lowest.
        var fanned = HistoryVerification()
        fanned.batchSize = batchSize
        var chunks: [[SignatureCheck]] = []
        for line in history.lines {
            guard fanned.add(line: Array(line.utf8)) else { break }
            let checks = fanned.takeSignatureChecks()
            if !checks.isEmpty { chunks.append(checks) }
        }
        #expect(!chunks.isEmpty && chunks.allSatisfy { $0.count == fanned.chunkSize }, "batch size \(batchSize)")
        for chunk in chunks.reversed() {
            if let found = SignatureCheck.firstFailure(in: chunk) { fanned.fail(found) }
        }
        #expect(fanned.finish(checkpoints: []) { _ in nil }.failure?.seq == 37, "batch size \(batchSize)")
    }
    // A later break in the chain does not hide an earlier bad signature still being checked.
    var lines = history.lines
    lines[200] = replacingFirst("Acme", with: "Acne", in: lines[200])
    var verification = HistoryVerification()
    verification.batchSize = 64
    for line in lines where !verification.add(line: Array(line.utf8)) { break }
    #expect(verification.finish(checkpoints: []) { _ in nil }.failure?.seq == 37)
}

/// Base64 decodes in one pass: it must accept exactly the texts the encoder writes.
@Test func paddedBase64IsAcceptedExactlyWhenTheEncoderWritesIt() {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
    let ones = Set((0...255).map { Base64.encode([UInt8($0)]) })
    let twos = Set((0..<65536).map { Base64.encode([UInt8($0 >> 8), UInt8($0 & 0xFF)]) })
    for a in alphabet {
        for b in alphabet {
            let one = "\(a)\(b)=="
            #expect((Base64.decode(one) != nil) == ones.contains(one), "\(one)")
            for c in alphabet {
                let two = "\(a)\(b)\(c)="
                #expect((Base64.decode(two) != nil) == (twos.contains(two) || ones.contains(two)), "\(two)")
                #expect(Base64.decode("AAAA" + two).map { Array($0.dropFirst(3)) } == Base64.decode(two))
            }
        }
    }
    #expect(Base64.decode("QQ==") == [0x41] && Base64.decode("QR==") == nil)
}
