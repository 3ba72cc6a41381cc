import TandemProtocol

/// The point in the history a record is shown at (`tandem get … --as-of`): after a seq, or at a
/// time (as the server stamped its entries).
///
/// ```swift
/// try AsOfPoint(parsing: "42")                         // .seq(42)
/// try AsOfPoint(parsing: "2026-05-04T12:00:00+02:00")  // .time("2026-05-04T10:00:00Z")
/// try AsOfPoint(parsing: "2026-05-04")                 // .time("2026-05-04T23:59:59.999999999Z"): the end of that day, UTC
/// ```
public enum AsOfPoint: Hashable, Sendable, CustomStringConvertible {
    /// Every entry up to and including this seq.
    case seq(Int64)
    /// Every entry up to the first one stamped later than this time (RFC 3339, UTC, ending in `Z`).
    case time(String)

    /// Reads `--as-of` text: an integer is a seq; otherwise an RFC 3339 time (any offset) or a
    /// date `YYYY-MM-DD`, which means the end of that day in UTC.
    ///
    /// - Throws: `usage` (64) for anything else.
    public init(parsing text: String) throws(ReplicaError) {
        if !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            guard let seq = Int64(text) else { throw Self.usage(text) }
            self = .seq(seq)
        } else if CalendarDate.isValid(text) {
            self = .time(text + "T23:59:59.999999999Z")
        } else if let utc = Timestamp.normalize(text) {
            self = .time(utc)
        } else if let utc = Self.utc(fromOffsetTime: text) {
            self = .time(utc)
        } else {
            throw Self.usage(text)
        }
    }

    public var description: String {
        switch self {
        case let .seq(seq): "seq \(seq)"
        case let .time(time): time
        }
    }

    private static func usage(_ text: String) -> ReplicaError {
        ReplicaError(
            .usage,
            "--as-of \(text): expected a seq (an integer), an RFC 3339 time (2026-05-04T10:00:00Z) or a date (2026-05-04)"
        )
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction]±HH:MM` as the same instant in UTC; nil for anything else.
    static func utc(fromOffsetTime text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 25 else { return nil }
        let offset = bytes[(bytes.count - 6)...]
        let sign = offset[offset.startIndex]
        guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"),
            offset[offset.startIndex + 3] == UInt8(ascii: ":"),
            let hours = number(offset[(offset.startIndex + 1)..<(offset.startIndex + 3)]),
            let minutes = number(offset[(offset.startIndex + 4)...]), hours < 24, minutes < 60,
            let local = Timestamp.normalize(String(decoding: bytes[..<(bytes.count - 6)], as: UTF8.self) + "Z")
        else { return nil }
        let localBytes = Array(local.utf8)
        guard let year = number(localBytes[0..<4]), let month = number(localBytes[5..<7]),
            let day = number(localBytes[8..<10]), let hour = number(localBytes[11..<13]),
            let minute = number(localBytes[14..<16]), let second = number(localBytes[17..<19])
        else { return nil }
        let seconds =
            daysFromCivil(year: year, month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        let shift = Int64(hours * 3600 + minutes * 60) * (sign == UInt8(ascii: "+") ? 1 : -1)
        let whole = Timestamp.string(milliseconds: (seconds - shift) * 1000, withMilliseconds: false)
        // Keep the fraction as given (an offset moves whole minutes only).
        let fraction = String(decoding: localBytes[19..<(localBytes.count - 1)], as: UTF8.self)
        return String(whole.dropLast()) + fraction + "Z"
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return digits.isEmpty ? nil : value
    }

    /// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthShifted = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * monthShifted + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
