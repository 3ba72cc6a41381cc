/// `YYYY-MM-DD` dates, checked without a calendar library: they sort as text, so comparing
/// two valid dates is comparing their strings.
public enum CalendarDate {
    /// Whether `text` is exactly `YYYY-MM-DD` and names a day that exists (leap years included).
    public static func isValid(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { isValid(bytes: $0) }
    }

    static func isValid(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let year = number(bytes[0..<4]), let month = number(bytes[5..<7]), let day = number(bytes[8..<10])
        else { return false }
        guard year >= 1, (1...12).contains(month), day >= 1 else { return false }
        return day <= daysIn(month: month, year: year)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func number<Digits: Collection<UInt8>>(_ digits: Digits) -> Int? {
        var value = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}

/// RFC 3339 times in UTC.
public enum Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)` → the same time ending in `Z`; nil otherwise.
    public static func normalize(_ text: String) -> String? {
        var body = text
        if body.hasSuffix("Z") || body.hasSuffix("z") {
            body.removeLast()
        } else if body.hasSuffix("+00:00") || body.hasSuffix("-00:00") {
            body.removeLast(6)
        } else {
            return nil
        }
        let bytes = Array(body.utf8)
        guard bytes.count >= 19,
            bytes.withUnsafeBufferPointer({ CalendarDate.isValid(bytes: UnsafeBufferPointer(rebasing: $0[0..<10])) }),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let hour = CalendarDate.number(bytes[11..<13]), let minute = CalendarDate.number(bytes[14..<16]),
            let second = CalendarDate.number(bytes[17..<19]),
            hour < 24, minute < 60, second < 61
        else { return nil }
        if bytes.count > 19 {
            guard bytes[19] == UInt8(ascii: "."), bytes.count > 20,
                bytes[20...].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
            else {
                return nil
            }
        }
        var normalized = bytes
        normalized[10] = UInt8(ascii: "T")
        return String(decoding: normalized, as: UTF8.self) + "Z"
    }

    /// Whether normalised timestamp `lhs` is earlier than `rhs`, comparing the instant: the
    /// fixed-width part as text, then the fractions as decimals (`.5` = `.500`, later than none).
    public static func isEarlier(_ lhs: String, than rhs: String) -> Bool {
        let left = Array(lhs.utf8.dropLast()), right = Array(rhs.utf8.dropLast())
        guard left.count >= 19, right.count >= 19 else { return lhs < rhs }
        let leftWhole = left[0..<19], rightWhole = right[0..<19]
        if leftWhole != rightWhole { return leftWhole.lexicographicallyPrecedes(rightWhole) }
        var leftFraction = Array(left.dropFirst(20)), rightFraction = Array(right.dropFirst(20))
        let width = max(leftFraction.count, rightFraction.count)
        leftFraction += Array(repeating: UInt8(ascii: "0"), count: width - leftFraction.count)
        rightFraction += Array(repeating: UInt8(ascii: "0"), count: width - rightFraction.count)
        return leftFraction.lexicographicallyPrecedes(rightFraction)
    }

    /// The RFC 3339 UTC text of a time in milliseconds since the epoch:
    /// `2026-05-04T09:30:00Z`, or `2026-05-04T09:30:00.250Z` with milliseconds. Pure arithmetic
    /// (days to civil date), no calendar library: the server stamps every log entry with it.
    public static func string(milliseconds: Int64, withMilliseconds: Bool = true) -> String {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let fraction = Int(milliseconds - seconds * 1000)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        // Howard Hinnant's civil_from_days.
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        let year = Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0))
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):"
        text += "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
        if withMilliseconds { text += "." + pad(fraction, 3) }
        return text + "Z"
    }
}
