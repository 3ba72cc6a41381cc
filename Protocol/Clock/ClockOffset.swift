/// How far a device's wall clock is from the server's, learned from the server's time on every
/// answer (``WireProtocol/serverTimeHeader``): the server's milliseconds minus the device's.
/// A device whose clock runs 20 minutes fast has an offset of −1 200 000.
///
/// The client stamps its edits with its own clock plus the offset, and re-stamps at push any
/// change stamped ahead of the server's time (``SyncRules``), so a wrong device clock never has a
/// change refused for `clock`.
///
/// ```swift
/// let offset = ClockOffset.estimate(sent: 1_000, received: 1_040, server: 1_200_020)
/// offset  // 1_199_000: the server's time against the middle of the exchange
/// ```
package enum ClockOffset {
    /// An offset at least this large (in either direction) is worth telling the user (5 s):
    /// below it, it is the network's delay or an ordinary drift.
    package static let noticeThreshold: Int64 = 5_000

    /// The offset measured by one exchange: `server` (the time the server put on its answer)
    /// against the middle of the device's `sent` … `received` (its clock before sending and after
    /// the answer arrived), so half the round trip is allowed for each way.
    package static func estimate(sent: Int64, received: Int64, server: Int64) -> Int64 {
        server - (sent + max(0, received - sent) / 2)
    }

    /// The server's time as a header value reads it: whole milliseconds since the epoch; nil for
    /// anything else.
    package static func serverTime(header value: String) -> Int64? {
        let text = value.filter { $0 != " " && $0 != "\t" }
        guard !text.isEmpty, text.utf8.count <= 16, text.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return Int64(text)
    }
}
