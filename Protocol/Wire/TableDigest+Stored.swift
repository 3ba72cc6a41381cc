import Crypto

extension TableDigest {
    /// Takes in a live record whose values are JSON text (a store's, as a pull sends the record)
    /// when that text is already byte for byte what ``add(id:version:values:)`` would hash
    /// (``isCanonical(_:)``): hashed as it is, without parsing. Otherwise takes nothing in and
    /// returns false: the caller parses the values and adds them.
    ///
    /// ```swift
    /// if !digest.add(id: id, version: 3, storedValues: #"{"name":"Kovina","sector":"private"}"#) {
    ///     digest.add(id: id, version: 3, values: try parse(text))
    /// }
    /// ```
    package mutating func add(id: String, version: Int64, storedValues text: String) -> Bool {
        var text = text
        let hash: SHA256.Digest? = text.withUTF8 { values in
            guard Self.isCanonical(values) else { return nil }
            var head: [UInt8] = [UInt8(ascii: "[")]
            head.reserveCapacity(64)
            JSONValue.writeString(id, to: &head)
            head.append(UInt8(ascii: ","))
            FieldValue.int(version).writeCanonical(to: &head)
            head.append(UInt8(ascii: ","))
            var hasher = SHA256()
            hasher.update(data: head)
            hasher.update(bufferPointer: UnsafeRawBufferPointer(values))
            hasher.update(data: [UInt8(ascii: "]")])
            return hasher.finalize()
        }
        guard let hash else { return false }
        take(hash)
        return true
    }

    /// Whether `bytes` is a JSON object exactly as the hash takes a record's values: members in
    /// order of their ASCII names, none null; no whitespace; strings not empty, escaping only `"`,
    /// `\` and `\b \t \n \f \r`; numbers integers of at most 15 digits; `true`, `false`. Anything
    /// else (an array, a real, a `\u` escape, a NULL member) is for the parser, even when it could
    /// have been canonical: this only has to be right when it says yes.
    static func isCanonical(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "{"), bytes[bytes.count - 1] == UInt8(ascii: "}") else {
            return false
        }
        let end = bytes.count - 1
        var index = 1
        if index == end { return true }
        var previous: Range<Int>?
        while true {
            guard let key = string(bytes, &index), key.allSatisfy({ bytes[$0] < 0x80 }) else { return false }
            if let previous, !bytes[previous].lexicographicallyPrecedes(bytes[key]) { return false }
            previous = key
            guard index < end, bytes[index] == UInt8(ascii: ":") else { return false }
            index += 1
            guard index < end, scalar(bytes, &index) else { return false }
            if index == end { return true }
            guard bytes[index] == UInt8(ascii: ",") else { return false }
            index += 1
        }
    }

    /// A string starting at `index` (not empty); moves past it and returns its contents' range.
    private static func string(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) -> Range<Int>? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let start = index + 1
        index = start
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                defer { index += 1 }
                return index > start ? start..<index : nil
            case UInt8(ascii: "\\"):
                guard index + 1 < bytes.count, Array(#""\btnfr"#.utf8).contains(bytes[index + 1]) else { return nil }
                index += 2
            case 0..<0x20: return nil
            default: index += 1
            }
        }
        return nil
    }

    /// A string, an integer or a boolean starting at `index`; moves past it.
    private static func scalar(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) -> Bool {
        switch bytes[index] {
        case UInt8(ascii: "\""): return string(bytes, &index) != nil
        case UInt8(ascii: "t"): return word("true", bytes, &index)
        case UInt8(ascii: "f"): return word("false", bytes, &index)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            let start = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            let digits = index - start
            // No leading zero, no -0: what an integer prints as.
            guard digits > 0, digits <= 15, bytes[start] != UInt8(ascii: "0") || digits == 1 else { return false }
            return !(bytes[start] == UInt8(ascii: "0") && bytes[start - 1] == UInt8(ascii: "-"))
        default: return false
        }
    }

    private static func word(_ text: String, _ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int) -> Bool {
        for byte in text.utf8 {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
        }
        return true
    }
}
