/// A strict JSON parser (RFC 8259, I-JSON): no trailing commas, no comments, no duplicate keys,
/// no lone surrogates, no raw control characters, only valid UTF-8, nesting at most
/// ``maximumDepth`` deep. Integers that fit in 64 bits stay integers; objects keep member order.
///
/// What a server reads from the network goes through here, so every input ends in a value or a
/// ``ProtocolError`` (`invalidJSON`) naming the byte offset — never a crash.
package struct JSONParser {
    package static let maximumDepth = 64

    // Internal, not private: the page readers that decode a message straight from its bytes
    // (PullResponse+Bytes.swift) walk the text with the same rules, errors and depth limit.
    let bytes: [UInt8]
    var position = 0
    var depth = 0

    package static func parse(_ bytes: [UInt8]) throws(ProtocolError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("unexpected text after the value") }
        return value
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    func error(_ reason: String) -> ProtocolError {
        ProtocolError(.invalidJSON, "invalid JSON at byte \(position): \(reason)")
    }

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private mutating func expect(_ literal: String, _ value: JSONValue) throws(ProtocolError) -> JSONValue {
        for byte in literal.utf8 {
            guard current == byte else { throw error("expected \(literal)") }
            position += 1
        }
        return value
    }

    mutating func parseValue() throws(ProtocolError) -> JSONValue {
        guard let byte = current else { throw error("unexpected end") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character")
        }
    }

    mutating func enter() throws(ProtocolError) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw error("nested more than \(Self.maximumDepth) deep") }
        position += 1
        skipWhitespace()
    }

    private mutating func parseObject() throws(ProtocolError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        var members: [JSONMember] = []
        var keys = Set<String>()
        if current == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            guard current == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let key = try parseString()
            guard keys.insert(key).inserted else { throw error("duplicate member \"\(key)\"") }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':'") }
            position += 1
            skipWhitespace()
            members.append(JSONMember(key, try parseValue()))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                position += 1
                return .object(members)
            default: throw error("expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray() throws(ProtocolError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        var items: [JSONValue] = []
        if current == UInt8(ascii: "]") {
            position += 1
            return .array(items)
        }
        while true {
            items.append(try parseValue())
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                position += 1
                return .array(items)
            default: throw error("expected ',' or ']'")
            }
        }
    }

    mutating func parseString() throws(ProtocolError) -> String {
        position += 1  // the opening quote
        var runStart = position
        var output = ""
        func flushRun(_ end: Int) throws(ProtocolError) {
            guard runStart < end else { return }
            // From a buffer, not an array slice: the generic slice path costs more than the copy.
            // ASCII needs no validating (`String(validating:)` looks up generic metadata on every
            // call: a tenth of a replica's pull, once).
            let text = bytes.withUnsafeBufferPointer { buffer in
                let run = UnsafeBufferPointer(rebasing: buffer[runStart..<end])
                return run.allSatisfy { $0 < 0x80 }
                    ? String(decoding: run, as: UTF8.self) : String(validating: run, as: UTF8.self)
            }
            guard let text else { throw error("not valid UTF-8") }
            output += text
        }
        while true {
            guard let byte = current else { throw error("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                try flushRun(position)
                position += 1
                return output
            case UInt8(ascii: "\\"):
                try flushRun(position)
                position += 1
                guard let escape = current else { throw error("unterminated escape") }
                position += 1
                let scalar: Unicode.Scalar
                switch escape {
                case UInt8(ascii: "\""): scalar = "\""
                case UInt8(ascii: "\\"): scalar = "\\"
                case UInt8(ascii: "/"): scalar = "/"
                case UInt8(ascii: "b"): scalar = "\u{08}"
                case UInt8(ascii: "f"): scalar = "\u{0C}"
                case UInt8(ascii: "n"): scalar = "\n"
                case UInt8(ascii: "r"): scalar = "\r"
                case UInt8(ascii: "t"): scalar = "\t"
                case UInt8(ascii: "u"): scalar = try parseUnicodeEscape()
                default: throw error("unknown escape")
                }
                output.unicodeScalars.append(scalar)
                runStart = position
            case 0..<0x20:
                throw error("control character in a string")
            default:
                position += 1
            }
        }
    }

    private mutating func parseHex4() throws(ProtocolError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("bad \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private mutating func parseUnicodeEscape() throws(ProtocolError) -> Unicode.Scalar {
        let first = try parseHex4()
        if (0xD800..<0xDC00).contains(first) {
            guard position + 2 <= bytes.count, bytes[position] == UInt8(ascii: "\\"),
                bytes[position + 1] == UInt8(ascii: "u")
            else { throw error("lone surrogate") }
            position += 2
            let second = try parseHex4()
            guard (0xDC00..<0xE000).contains(second) else { throw error("lone surrogate") }
            let combined = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            guard let scalar = Unicode.Scalar(combined) else { throw error("bad surrogate pair") }
            return scalar
        }
        guard let scalar = Unicode.Scalar(first) else { throw error("lone surrogate") }
        return scalar
    }

    private mutating func parseNumber() throws(ProtocolError) -> JSONValue {
        let start = position
        var isInteger = true
        if current == UInt8(ascii: "-") { position += 1 }
        guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            throw error("expected a digit")
        }
        if first == UInt8(ascii: "0") {
            position += 1
        } else {
            skipDigits()
        }
        if current == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard try skipRequiredDigits() else { throw error("expected a digit after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard try skipRequiredDigits() else { throw error("expected a digit in the exponent") }
        }
        // Up to 15 digits: below 2^53, an `int` read digit by digit (what `Int64(text)` gives,
        // without making the text).
        let isNegative = bytes[start] == UInt8(ascii: "-")
        if isInteger, position - start - (isNegative ? 1 : 0) <= 15 {
            var value: Int64 = 0
            for index in (isNegative ? start + 1 : start)..<position {
                value = value &* 10 &+ Int64(bytes[index] &- UInt8(ascii: "0"))
            }
            return .int(isNegative ? -value : value)
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        // An integer is an `int` within ±(2^53 − 1); beyond, as I-JSON (RFC 7493) and RFC 8785
        // read every number, it is the double it rounds to — so that what the history writes
        // reads back as the same value of the same kind.
        if isInteger, let value = Int64(text), value.magnitude <= WireProtocol.maximumSafeInteger.magnitude {
            return .int(value)
        }
        guard let value = Double(text), value.isFinite else { throw error("number out of range") }
        return .double(value)
    }

    private mutating func skipDigits() {
        while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { position += 1 }
    }

    private mutating func skipRequiredDigits() throws(ProtocolError) -> Bool {
        let start = position
        skipDigits()
        return position > start
    }
}
