/// Standard base64 (RFC 4648 §4, with padding) for keys and signatures, without Foundation.
package enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    package static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index < input.count {
            let b0 = input[index]
            let b1 = index + 1 < input.count ? input[index + 1] : 0
            let b2 = index + 2 < input.count ? input[index + 2] : 0
            output.append(alphabet[Int(b0 >> 2)])
            output.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            output.append(index + 1 < input.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            output.append(index + 2 < input.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes of canonical padded base64 text; nil for anything else.
    package static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode(utf8: $0) }
    }

    /// One pass, no second encoding: padding only at the end, and the bits it leaves over zero.
    private static func decode(utf8 input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard input.count % 4 == 0 else { return nil }
        var padding = 0
        if input.count > 0, input[input.count - 1] == UInt8(ascii: "=") {
            padding = input[input.count - 2] == UInt8(ascii: "=") ? 2 : 1
        }
        var isValid = true
        let output = [UInt8](unsafeUninitializedCapacity: input.count / 4 * 3) { output, written in
            var index = 0
            while index < input.count {
                let digits = index + 4 == input.count ? 4 - padding : 4
                var quantum: UInt32 = 0
                for offset in 0..<digits {
                    // '=' before the padding is not in the alphabet: refused here.
                    let value = values[Int(input[index + offset])]
                    guard value != 0xFF else {
                        isValid = false
                        return
                    }
                    quantum |= UInt32(value) << (18 - 6 * offset)
                }
                // Canonical: the bits the padding leaves over are zero, so one text per byte string.
                guard digits == 4 || quantum & (digits == 3 ? 0xFF : 0xFFFF) == 0 else {
                    isValid = false
                    return
                }
                output[written] = UInt8(quantum >> 16 & 0xFF)
                if digits > 2 { output[written + 1] = UInt8(quantum >> 8 & 0xFF) }
                if digits > 3 { output[written + 2] = UInt8(quantum & 0xFF) }
                written += digits - 1
                index += 4
            }
        }
        return isValid ? output : nil
    }
}
