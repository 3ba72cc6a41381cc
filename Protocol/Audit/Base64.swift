/// Standard base64 (RFC 4648 §4, with padding) for keys and signatures, without Foundation.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    public static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
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
    public static func decode(_ text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let padding = input[(index + 2)...].prefix(2).reduce(0) { $0 + ($1 == UInt8(ascii: "=") ? 1 : 0) }
            let isLast = index + 4 == input.count
            guard padding == 0 || isLast else { return nil }
            if padding == 1, input[index + 3] != UInt8(ascii: "=") { return nil }
            var quantum: UInt32 = 0
            for offset in 0..<(4 - padding) {
                let value = values[Int(input[index + offset])]
                guard value != 0xFF else { return nil }
                quantum |= UInt32(value) << (18 - 6 * offset)
            }
            output.append(UInt8(quantum >> 16 & 0xFF))
            if padding < 2 { output.append(UInt8(quantum >> 8 & 0xFF)) }
            if padding < 1 { output.append(UInt8(quantum & 0xFF)) }
            index += 4
        }
        // Canonical: the bits padding leaves over must be zero, so one text per byte string.
        guard encode(output) == text else { return nil }
        return output
    }
}
