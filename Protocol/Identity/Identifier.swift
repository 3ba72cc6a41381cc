/// Record, change and device ids: UUIDs as lowercase text (`0193a1b2-…`), version 7 when Tandem
/// makes them, so that they sort by creation time.
public enum Identifier {
    /// Whether `text` is a UUID in its canonical 8-4-4-4-12 lowercase hex form.
    public static func isUUID(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            guard bytes.count == 36 else { return false }
            for index in 0..<36 {
                let byte = bytes[index]
                if index == 8 || index == 13 || index == 18 || index == 23 {
                    guard byte == UInt8(ascii: "-") else { return false }
                } else {
                    guard isLowerHex(byte) else { return false }
                }
            }
            return true
        }
    }

    /// Whether `text` could start an id: 1–36 characters of lowercase hex and dashes.
    package static func isPrefix(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 36 && text.utf8.allSatisfy { isLowerHex($0) || $0 == UInt8(ascii: "-") }
    }

    package static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}

/// Makes UUIDv7 ids (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter that keeps
/// ids made in the same millisecond in order, then 62 random bits.
///
/// ```swift
/// var ids = UUIDv7Generator()
/// let id = ids.next(milliseconds: clock.now)  // "0193a1b2-c3d4-7e5f-…"
/// ```
public struct UUIDv7Generator: Sendable {
    private var lastMilliseconds: Int64 = 0
    private var counter: UInt16 = 0

    public init() {}

    /// The next id; ids from one generator increase strictly, even within one millisecond.
    public mutating func next<R: RandomNumberGenerator>(milliseconds now: Int64, using random: inout R) -> String {
        if now > lastMilliseconds {
            lastMilliseconds = now
            counter = UInt16.random(in: 0..<0x400, using: &random)
        } else if counter < 0xFFF {
            counter += 1
        } else {
            lastMilliseconds += 1
            counter = 0
        }
        let high = (UInt64(lastMilliseconds) & 0xFFFF_FFFF_FFFF) << 16 | 0x7000 | UInt64(counter)
        let low = (random.next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return Self.format(high: high, low: low)
    }

    /// The id for an event at HLC `clock`: its milliseconds and (up to 4095) its counter lead
    /// the id, so ids made from a device's strictly increasing clock sort in the order they were made.
    public static func id<R: RandomNumberGenerator>(at clock: HLC, using random: inout R) -> String {
        let counter = UInt64(Swift.min(clock.counter, 0xFFF))
        let high = (UInt64(clock.milliseconds) & 0xFFFF_FFFF_FFFF) << 16 | 0x7000 | counter
        return format(high: high, low: (random.next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000)
    }

    public static func id(at clock: HLC) -> String {
        var random = SystemRandomNumberGenerator()
        return id(at: clock, using: &random)
    }

    public mutating func next(milliseconds now: Int64) -> String {
        var random = SystemRandomNumberGenerator()
        return next(milliseconds: now, using: &random)
    }

    static func format(high: UInt64, low: UInt64) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes = [UInt8]()
        bytes.reserveCapacity(36)
        for shift in stride(from: 60, through: 0, by: -4) {
            bytes.append(digits[Int((high >> UInt64(shift)) & 0xF)])
            if shift == 32 || shift == 16 { bytes.append(UInt8(ascii: "-")) }
        }
        bytes.append(UInt8(ascii: "-"))
        for shift in stride(from: 60, through: 0, by: -4) {
            bytes.append(digits[Int((low >> UInt64(shift)) & 0xF)])
            if shift == 48 { bytes.append(UInt8(ascii: "-")) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
