/// A hybrid logical clock timestamp (SPEC §5): milliseconds since the epoch, a counter, and the
/// device that made it. Its text form sorts in time order:
/// `"001763812345678.00000.0193…"` (15 digits, `.`, 5 digits, `.`, device id).
///
/// ```swift
/// var clock = HLC(milliseconds: 0, counter: 0, device: deviceID)
/// clock = clock.advanced(now: nowMilliseconds)   // a local event
/// clock = clock.receiving(remote, now: nowMilliseconds)
/// ```
public struct HLC: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64
    public var counter: Int
    public var device: String

    public static let maxCounter = 99_999

    public init(milliseconds: Int64, counter: Int, device: String) {
        self.milliseconds = milliseconds
        self.counter = counter
        self.device = device
    }

    /// Parses the text form; nil when it is not one.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].utf8.count == 15, parts[1].utf8.count == 5, !parts[2].isEmpty,
            parts[0].utf8.allSatisfy({ (48...57).contains($0) }), parts[1].utf8.allSatisfy({ (48...57).contains($0) }),
            let milliseconds = Int64(parts[0]), let counter = Int(parts[1])
        else { return nil }
        self.init(milliseconds: milliseconds, counter: counter, device: String(parts[2]))
    }

    public var description: String {
        var bytes = [UInt8](repeating: UInt8(ascii: "0"), count: 22)
        var value = milliseconds
        for index in stride(from: 14, through: 0, by: -1) where value > 0 {
            bytes[index] = UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
        }
        bytes[15] = UInt8(ascii: ".")
        var count = counter
        for index in stride(from: 20, through: 16, by: -1) where count > 0 {
            bytes[index] = UInt8(ascii: "0") + UInt8(count % 10)
            count /= 10
        }
        bytes[21] = UInt8(ascii: ".")
        bytes.append(contentsOf: device.utf8)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The timestamp of a local event at wall time `now`: later than this one, and than `now`
    /// when the wall clock moved on.
    public func advanced(now: Int64) -> HLC {
        if now > milliseconds { return HLC(milliseconds: now, counter: 0, device: device) }
        if counter < Self.maxCounter { return HLC(milliseconds: milliseconds, counter: counter + 1, device: device) }
        return HLC(milliseconds: milliseconds + 1, counter: 0, device: device)
    }

    /// The timestamp after seeing `remote` at wall time `now`: later than both.
    public func receiving(_ remote: HLC, now: Int64) -> HLC {
        let latest = Swift.max(milliseconds, remote.milliseconds)
        if now > latest { return HLC(milliseconds: now, counter: 0, device: device) }
        let counter: Int
        switch (milliseconds == latest, remote.milliseconds == latest) {
        case (true, true): counter = Swift.max(self.counter, remote.counter)
        case (true, false): counter = self.counter
        default: counter = remote.counter
        }
        return HLC(milliseconds: latest, counter: counter, device: device).advanced(now: latest)
    }

    public static func < (lhs: HLC, rhs: HLC) -> Bool {
        (lhs.milliseconds, lhs.counter, lhs.device) < (rhs.milliseconds, rhs.counter, rhs.device)
    }
}
