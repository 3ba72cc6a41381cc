/// Where a history line keeps what verifying it reads, found in one pass over its bytes without
/// building a ``JSONValue``: the fast path of ``ChainVerifier`` and `tandem audit pull`.
///
/// It only answers for a line that is *already* in RFC 8785 form — no whitespace, members in
/// strictly increasing order (ASCII names), strings escaped exactly as RFC 8785 writes them and
/// valid UTF-8, integers of at most 15 digits and no other numbers, nesting at most 32 deep — and
/// has the members an entry needs, with the types it needs. For such a line the canonical bytes
/// of any of its objects are its own bytes, so the entry without `hash` is the line with the
/// `"hash"` member cut out, and the change without `signature` is the change's bytes with the
/// `"signature"` member cut out: nothing is parsed into values or written again. For any other
/// line (a hand-edited one, say) it answers nil and the caller takes the general path (parse,
/// then RFC 8785), which decides exactly as before.
///
/// A string range is the string's bytes between its quotes; such a string is *plain* when it
/// holds no escape, so that its bytes are its UTF-8 value.
package struct EntryScan {
    package var seq: Int64
    /// `,"hash":"…"`: the member and the comma before it.
    package var hashMember: Range<Int>
    package var hash: Range<Int>
    package var prevHash: Range<Int>
    package var time: Range<Int>
    /// The change object, braces included.
    package var change: Range<Int>
    /// The change's `table`, `device` and `record_id`: plain strings.
    package var table: Range<Int>
    package var device: Range<Int>
    package var recordID: Range<Int>
    /// `,"signature":"…"` and the signature (plain); nil when the change has no string
    /// `signature` after its first member.
    package var signatureMember: Range<Int>?
    package var signature: Range<Int>?
    /// The author's `device` and `organisation`: nil when null or missing, else plain strings.
    package var authorDevice: Range<Int>?
    package var authorOrganisation: Range<Int>?
    package var authorRole: Role
    /// The outcome's `status` and `reason` when they are strings.
    package var status: Range<Int>?
    package var reason: Range<Int>?

    /// The scan of `line`; nil when the line is not an entry in RFC 8785 form as described above.
    package init?(_ line: UnsafeBufferPointer<UInt8>) {
        var scanner = CanonicalScanner(bytes: line)
        var seq: Int64?
        var hashMember: Range<Int>?
        var hash: Range<Int>?
        var prevHash: Range<Int>?
        var time: Range<Int>?
        var change: ChangeScan?
        var author: AuthorScan?
        var outcome: (status: Range<Int>?, reason: Range<Int>?)?
        guard scanner.open() else { return nil }
        var members = CanonicalScanner.Members()
        loop: while true {
            switch scanner.next(&members) {
            case .invalid: return nil
            case .end: break loop
            case let .member(key, start):
                if scanner.matches(key, "author") {
                    guard let scanned = scanner.author() else { return nil }
                    author = scanned
                } else if scanner.matches(key, "change") {
                    guard let scanned = scanner.change() else { return nil }
                    change = scanned
                } else if scanner.matches(key, "hash") {
                    guard start > 1, let text = scanner.string(), text.isPlain else { return nil }
                    hash = text.content
                    hashMember = (start - 1)..<scanner.position
                } else if scanner.matches(key, "outcome") {
                    guard let scanned = scanner.outcome() else { return nil }
                    outcome = scanned
                } else if scanner.matches(key, "prev_hash") {
                    guard let text = scanner.string(), text.isPlain else { return nil }
                    prevHash = text.content
                } else if scanner.matches(key, "seq") {
                    guard let number = scanner.integer() else { return nil }
                    seq = number
                } else if scanner.matches(key, "time") {
                    guard let text = scanner.string() else { return nil }
                    time = text.content
                } else if scanner.matches(key, "values") {
                    // Openings beside the entry (SPEC §8) are checked on the general path.
                    return nil
                } else {
                    guard scanner.skipValue() else { return nil }
                }
            }
        }
        guard scanner.position == line.count, let seq, let hashMember, let hash, let prevHash, let time, let change,
            let author, let outcome
        else { return nil }
        self.seq = seq
        self.hashMember = hashMember
        self.hash = hash
        self.prevHash = prevHash
        self.time = time
        self.change = change.range
        table = change.table
        device = change.device
        recordID = change.recordID
        signatureMember = change.signatureMember
        signature = change.signature
        authorDevice = author.device
        authorOrganisation = author.organisation
        authorRole = author.role
        status = outcome.status
        reason = outcome.reason
    }

    struct ChangeScan {
        var range: Range<Int>
        var table: Range<Int>
        var device: Range<Int>
        var recordID: Range<Int>
        var signatureMember: Range<Int>?
        var signature: Range<Int>?
    }

    struct AuthorScan {
        var device: Range<Int>?
        var organisation: Range<Int>?
        var role: Role
    }
}

/// A one-pass reader of JSON text that is in RFC 8785 form; every method answers nil (or false)
/// at the first byte that RFC 8785 would have written otherwise.
struct CanonicalScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var depth = 0
    static let maximumDepth = 32

    struct Text {
        var content: Range<Int>
        /// No escape: the bytes are the value.
        var isPlain: Bool
        var isASCII: Bool
    }

    /// The state of an object being read.
    struct Members {
        var previousKey: Range<Int>?
    }

    enum Step {
        /// A member's name, and where the member starts (its opening quote); the value is next.
        case member(Range<Int>, Int)
        case end
        case invalid
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    func matches(_ range: Range<Int>, _ name: StaticString) -> Bool {
        guard range.count == name.utf8CodeUnitCount else { return false }
        let start = name.utf8Start
        for offset in 0..<range.count where bytes[range.lowerBound + offset] != start[offset] { return false }
        return true
    }

    /// Reads `{`.
    mutating func open() -> Bool {
        guard current == UInt8(ascii: "{"), depth < Self.maximumDepth else { return false }
        position += 1
        depth += 1
        return true
    }

    /// Reads up to the next member's value (`,"name":`), or the closing `}`.
    mutating func next(_ members: inout Members) -> Step {
        guard let byte = current else { return .invalid }
        if byte == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .end
        }
        if members.previousKey != nil {
            guard byte == UInt8(ascii: ",") else { return .invalid }
            position += 1
        }
        let start = position
        guard let key = string(), key.isPlain, key.isASCII, current == UInt8(ascii: ":") else { return .invalid }
        // ASCII names: byte order is UTF-16 order. Strictly increasing: no duplicates either.
        if let previous = members.previousKey, !precedes(previous, key.content) { return .invalid }
        members.previousKey = key.content
        position += 1
        return .member(key.content, start)
    }

    private func precedes(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
        var i = a.lowerBound
        var j = b.lowerBound
        while i < a.upperBound, j < b.upperBound {
            if bytes[i] != bytes[j] { return bytes[i] < bytes[j] }
            i += 1
            j += 1
        }
        return a.count < b.count
    }

    mutating func skipValue() -> Bool {
        guard let byte = current else { return false }
        switch byte {
        case UInt8(ascii: "{"):
            guard open() else { return false }
            var members = Members()
            while true {
                switch next(&members) {
                case .invalid: return false
                case .end: return true
                case .member: guard skipValue() else { return false }
                }
            }
        case UInt8(ascii: "["):
            guard depth < Self.maximumDepth else { return false }
            position += 1
            depth += 1
            if current == UInt8(ascii: "]") {
                position += 1
                depth -= 1
                return true
            }
            while true {
                guard skipValue() else { return false }
                switch current {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "]"):
                    position += 1
                    depth -= 1
                    return true
                default: return false
                }
            }
        case UInt8(ascii: "\""): return string() != nil
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return integer() != nil
        }
    }

    mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count, matches(position..<(position + count), word) else { return false }
        position += count
        return true
    }

    /// `null`, or a plain string.
    private mutating func optionalPlainString() -> Range<Int>?? {
        if literal("null") { return .some(nil) }
        guard let text = string(), text.isPlain else { return nil }
        return .some(text.content)
    }

    /// An integer as RFC 8785 writes it, of at most 15 digits (no `-0`, no leading zero, no
    /// fraction or exponent: those are left to the general path).
    mutating func integer() -> Int64? {
        var isNegative = false
        if current == UInt8(ascii: "-") {
            isNegative = true
            position += 1
        }
        guard let first = current, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { return nil }
        if first == UInt8(ascii: "0") {
            position += 1
            return isNegative ? nil : 0
        }
        var value: Int64 = 0
        var digits = 0
        while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            digits += 1
            position += 1
            guard digits <= 15 else { return nil }
        }
        return isNegative ? -value : value
    }

    /// A string as RFC 8785 writes it: valid UTF-8, no raw control character, and only the
    /// escapes it uses (`\"`, `\\`, `\b`, `\t`, `\n`, `\f`, `\r`, and `\u00xx` in lowercase for
    /// the other control characters).
    mutating func string() -> Text? {
        guard current == UInt8(ascii: "\"") else { return nil }
        position += 1
        let start = position
        var isPlain = true
        var isASCII = true
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let content = start..<position
                position += 1
                return Text(content: content, isPlain: isPlain, isASCII: isASCII)
            }
            if byte == UInt8(ascii: "\\") {
                isPlain = false
                guard escape() else { return nil }
            } else if byte < 0x20 {
                return nil
            } else if byte < 0x80 {
                position += 1
            } else {
                isASCII = false
                guard utf8Sequence() else { return nil }
            }
        }
        return nil
    }

    private mutating func escape() -> Bool {
        guard position + 1 < bytes.count else { return false }
        switch bytes[position + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "b"), UInt8(ascii: "t"), UInt8(ascii: "n"),
            UInt8(ascii: "f"), UInt8(ascii: "r"):
            position += 2
            return true
        case UInt8(ascii: "u"):
            guard position + 5 < bytes.count, bytes[position + 2] == UInt8(ascii: "0"),
                bytes[position + 3] == UInt8(ascii: "0")
            else { return false }
            let high = bytes[position + 4]
            let low = bytes[position + 5]
            guard high == UInt8(ascii: "0") || high == UInt8(ascii: "1") else { return false }
            let lowValue: UInt8
            switch low {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): lowValue = low - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): lowValue = low - UInt8(ascii: "a") + 10
            default: return false
            }
            let value = (high - UInt8(ascii: "0")) << 4 | lowValue
            // These five have short escapes, which RFC 8785 uses instead.
            guard ![0x08, 0x09, 0x0A, 0x0C, 0x0D].contains(value) else { return false }
            position += 6
            return true
        default:
            return false
        }
    }

    /// One well-formed UTF-8 sequence of two to four bytes (Unicode Table 3-7: no overlong
    /// forms, no surrogates, nothing past U+10FFFF).
    private mutating func utf8Sequence() -> Bool {
        let lead = bytes[position]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            high = 0x9F
        case 0xF0:
            length = 4
            low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            high = 0x8F
        default: return false
        }
        guard position + length <= bytes.count else { return false }
        let second = bytes[position + 1]
        guard second >= low, second <= high else { return false }
        for offset in 2..<length where bytes[position + offset] & 0xC0 != 0x80 { return false }
        position += length
        return true
    }

    // MARK: - The objects of an entry

    /// `author`: a `role` that is one of ``Role``'s; `device` and `organisation` null, missing
    /// or plain strings (what ``Author/init(json:)`` reads, nothing else).
    mutating func author() -> EntryScan.AuthorScan? {
        guard open() else { return nil }
        var device: Range<Int>?
        var organisation: Range<Int>?
        var role: Role?
        var members = Members()
        while true {
            switch next(&members) {
            case .invalid: return nil
            case .end:
                guard let role else { return nil }
                return EntryScan.AuthorScan(device: device, organisation: organisation, role: role)
            case let .member(key, _):
                if matches(key, "device") {
                    guard let text = optionalPlainString() else { return nil }
                    device = text
                } else if matches(key, "organisation") {
                    guard let text = optionalPlainString() else { return nil }
                    organisation = text
                } else if matches(key, "role") {
                    guard let text = string(), text.isPlain else { return nil }
                    role = Role.allCases.first { matches(text.content, $0.staticName) }
                    guard role != nil else { return nil }
                } else {
                    guard skipValue() else { return nil }
                }
            }
        }
    }

    /// `change`: plain string `table`, `device` and `record_id`, and where its `signature` is.
    mutating func change() -> EntryScan.ChangeScan? {
        let start = position
        guard open() else { return nil }
        var table: Range<Int>?
        var device: Range<Int>?
        var recordID: Range<Int>?
        var signatureMember: Range<Int>?
        var signature: Range<Int>?
        var members = Members()
        var isFirst = true
        while true {
            let step = next(&members)
            switch step {
            case .invalid: return nil
            case .end:
                guard let table, let device, let recordID else { return nil }
                return EntryScan.ChangeScan(
                    range: start..<position, table: table, device: device, recordID: recordID,
                    signatureMember: signatureMember, signature: signature)
            case let .member(key, memberStart):
                if matches(key, "table") {
                    guard let text = string(), text.isPlain else { return nil }
                    table = text.content
                } else if matches(key, "device") {
                    guard let text = string(), text.isPlain else { return nil }
                    device = text.content
                } else if matches(key, "record_id") {
                    guard let text = string(), text.isPlain else { return nil }
                    recordID = text.content
                } else if matches(key, "signature"), !isFirst, current == UInt8(ascii: "\"") {
                    guard let text = string(), text.isPlain else { return nil }
                    signature = text.content
                    signatureMember = (memberStart - 1)..<position
                } else {
                    guard skipValue() else { return nil }
                }
            }
            isFirst = false
        }
    }

    /// `outcome`: an object; its `status` and `reason` when they are strings.
    mutating func outcome() -> (status: Range<Int>?, reason: Range<Int>?)? {
        guard open() else { return nil }
        var status: Range<Int>?
        var reason: Range<Int>?
        var members = Members()
        while true {
            switch next(&members) {
            case .invalid: return nil
            case .end: return (status, reason)
            case let .member(key, _):
                let isStatus = matches(key, "status")
                if isStatus || matches(key, "reason"), current == UInt8(ascii: "\"") {
                    guard let text = string() else { return nil }
                    if isStatus { status = text.content } else { reason = text.content }
                } else {
                    guard skipValue() else { return nil }
                }
            }
        }
    }
}

extension Role {
    fileprivate var staticName: StaticString {
        switch self {
        case .member: "member"
        case .coordinator: "coordinator"
        case .auditor: "auditor"
        case .server: "server"
        }
    }
}
