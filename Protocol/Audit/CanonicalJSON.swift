/// RFC 8785 (JSON Canonicalization Scheme): the bytes Tandem signs and hashes.
///
/// Members sorted by their names' UTF-16 code units, no whitespace, strings escaped as
/// ECMAScript's `JSON.stringify` does (only `"`, `\` and control characters; everything else as
/// UTF-8), numbers as ECMAScript prints an IEEE 754 double (`1e+21`, `1e-7`, `0.000001`, `-0`
/// as `0`). Integers beyond ±2^53 are, as RFC 8785 says, printed as the double they round to.
///
/// ```swift
/// JSONValue.object([.init("b", .int(2)), .init("a", .double(1e-7))]).canonicalText()
/// // {"a":1e-7,"b":2}
/// ```
extension JSONValue {
    /// The RFC 8785 bytes of this value.
    public func canonicalBytes() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        writeCanonical(to: &output)
        return output
    }

    /// The RFC 8785 text of this value.
    public func canonicalText() -> String { String(decoding: canonicalBytes(), as: UTF8.self) }

    func writeCanonical(to output: inout [UInt8]) {
        switch self {
        case .null: output += Array("null".utf8)
        case let .bool(value): output += Array((value ? "true" : "false").utf8)
        case let .int(value):
            if value.magnitude <= 1 << 53 {
                output += Array(String(value).utf8)
            } else {
                output += Array(Double(value).ecmaScriptDescription.utf8)
            }
        case let .double(value): output += Array((value.isFinite ? value.ecmaScriptDescription : "null").utf8)
        case let .string(value): Self.writeCanonicalString(value, to: &output)
        case let .array(items):
            output.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                item.writeCanonical(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case let .object(members):
            output.append(UInt8(ascii: "{"))
            let sorted = members.sorted { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) }
            for (index, member) in sorted.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                Self.writeCanonicalString(member.key, to: &output)
                output.append(UInt8(ascii: ":"))
                member.value.writeCanonical(to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func writeCanonicalString(_ value: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): output += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: output += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x09: output += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x0A: output += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0C: output += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0D: output += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0..<0x20:
                output += [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                    hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)],
                ]
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

extension Double {
    /// ECMAScript's `Number.prototype.toString()` of a finite double (ECMA-262 §6.1.6.1.20),
    /// which RFC 8785 prescribes: the shortest digits that read back as the same double, in
    /// plain notation from 1e-6 up to 1e21 and in exponent notation (`1e+21`, `1.5e-7`) outside.
    package var ecmaScriptDescription: String {
        if self == 0 { return "0" }
        if self < 0 { return "-" + (-self).ecmaScriptDescription }
        // Swift prints the shortest round-trip digits too, in its own notation: `1e-07`, `12.5`,
        // `1.2345e+16`. Take its digits and exponent, and lay them out as ECMAScript does.
        let text = description
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...].replacing("+", with: "")) ?? 0
        }
        var digits: [Character] = []
        var point = 0
        var seenPoint = false
        for character in mantissa {
            if character == "." {
                seenPoint = true
            } else {
                digits.append(character)
                if !seenPoint { point += 1 }
            }
        }
        // value = 0.d1d2…dk × 10^n
        var n = point + exponent
        while digits.first == "0" {
            digits.removeFirst()
            n -= 1
        }
        while digits.last == "0" { digits.removeLast() }
        let k = digits.count
        let s = String(digits)
        if k <= n && n <= 21 { return s + String(repeating: "0", count: n - k) }
        if 0 < n && n <= 21 { return String(digits[..<n]) + "." + String(digits[n...]) }
        if -6 < n && n <= 0 { return "0." + String(repeating: "0", count: -n) + s }
        let e = n - 1
        let sign = e < 0 ? "-" : "+"
        let mantissaText = k == 1 ? s : String(digits[0]) + "." + String(digits[1...])
        return mantissaText + "e" + sign + String(e.magnitude)
    }
}
