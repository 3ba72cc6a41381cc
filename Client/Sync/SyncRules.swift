package import TandemProtocol

/// The sync engine's decisions, as pure functions of what the replica holds and what the server
/// answered: what a push result means for its outbox entry, where the pull cursor must go, and
/// what a record looks like locally once the user's pending changes are laid over the server's
/// state (the rebase). ``SyncEngine``, `Replica+Push` and ``PullApplier`` carry
/// them out; tests check them without a database or a network.
package enum SyncRules {
    /// What a push result does to the change it answers.
    package enum Disposition: Equatable, Sendable {
        /// The server has the change (applied, merged, conflict, or an earlier copy): it is no
        /// longer pending.
        case accepted
        /// The server refused it: no longer pending, and reported in `tandem status`.
        case rejected(reason: RejectionReason)
    }

    package static func disposition(of result: PushResult) -> Disposition {
        switch result.status {
        case .applied, .merged, .conflict:
            return .accepted
        case .rejected:
            return .rejected(reason: result.reason ?? RejectionReason(rawValue: "unknown"))
        case .duplicate:
            // The server answers a change it has seen before with its first result: a change
            // whose first answer was lost and was a rejection comes back with its reason.
            return result.reason.map { .rejected(reason: $0) } ?? .accepted
        }
    }

    /// The pull cursor after a push. A change whose log entry the replica has already pulled
    /// past (its first answer was lost, and a pull ran before the retry) was shown locally
    /// through the rebase, not as the server settled it: the cursor goes back to just before
    /// that entry, so the next pull brings the record as it really is.
    package static func cursor(after results: [PushResult], current: Int64) -> Int64 {
        var cursor = current
        for result in results {
            if let seq = result.seq, seq <= cursor { cursor = max(0, seq - 1) }
        }
        return cursor
    }

    /// A change still in the outbox, as the rebase needs it: what it does and the fields it sets
    /// (for an insert, every value of the new record).
    package struct PendingEdit: Equatable, Sendable {
        package var op: Operation
        package var fields: [String: JSONValue]

        package init(op: Operation, fields: [String: JSONValue]) {
            self.op = op
            self.fields = fields
        }
    }

    /// The record as the replica shows it: the server's state (nil when the server has no live
    /// record) with the pending changes laid over it in order. An update sets its fields on a
    /// live record and cannot revive a deleted one (the server will reject it: `deleted`); a
    /// delete removes the record; an insert makes it from its own values.
    ///
    /// - Returns: the values to write (absent fields are NULL), or nil for no row.
    package static func rebase(server: [String: JSONValue]?, pending: [PendingEdit]) -> [String: JSONValue]? {
        var values = server
        for edit in pending {
            switch edit.op {
            case .insert:
                values = edit.fields
            case .update:
                guard var current = values else { continue }
                for (field, value) in edit.fields { current[field] = value }
                values = current
            case .delete:
                values = nil
            case .erase:
                // Never pending: erasures are the server's.
                continue
            }
        }
        return values?.filter { $0.value != .null }
    }

    /// The latest HLC of the changes the server accepted among `items`. Rejected ones are left
    /// out: a change refused with `clock` carries a clock far ahead, and taking it in would make
    /// every later edit of this device too far ahead as well. Accepted ones are at most the
    /// server's allowed skew ahead of its clock.
    package static func latestClock(in items: [PullItem]) -> HLC? {
        latestClock(of: items.lazy.compactMap { item in item.entry.map { ($0.outcome.status, $0.hlc) } })
    }

    package static func latestClock(in items: [PulledItem]) -> HLC? {
        latestClock(of: items.lazy.compactMap { item in item.entry.map { ($0.status, $0.hlc) } })
    }

    /// The latest of `stamps` (status, HLC) whose status is not `rejected`.
    private static func latestClock(of stamps: some Sequence<(Outcome.Status, String?)>) -> HLC? {
        var latest: HLC?
        for (status, text) in stamps {
            guard status != .rejected, let text, let clock = HLC(text) else { continue }
            if latest.map({ $0 < clock }) ?? true { latest = clock }
        }
        return latest
    }

    /// How far ahead of the server's time (as the device's corrected clock has it) a stamp may be
    /// before it counts as made by a wrong clock: the measurement's own error is well below it.
    package static let clockTolerance: Int64 = 1_000

    /// The clocks of the pending changes, and of the device, once the device has learned that its
    /// clock is `shift` milliseconds off the offset their stamps were made with (`shift` = the new
    /// offset minus the old), at corrected time `now`, having pulled changes up to `seen`:
    ///
    /// 1. each pending stamp moves by `shift` (unless it is within ``clockTolerance``): an edit
    ///    made on a clock 20 minutes fast counts as made when it was, in the server's time, so
    ///    `lww` against other devices follows the order the edits were really made in;
    /// 2. a stamp still ahead of `now` (past the tolerance, and past `seen`) — the clock changed
    ///    between the edit and the push — is stamped anew at `now`, after `seen` and after the
    ///    stamps before it, so the server never refuses it for `clock`;
    /// 3. the device's clock, if ahead in the same way, starts again from `now` (and after `seen`),
    ///    and is never behind the pending stamps.
    ///
    /// Stamps keep their order, and their counters; HLC rules (SPEC §5) are unchanged.
    package static func correctClocks(
        pending: [HLC], device: HLC, shift: Int64, now: Int64, seen: HLC?
    ) -> (pending: [HLC], device: HLC) {
        let bound = max(now + clockTolerance, seen?.milliseconds ?? 0)
        func isPlausible(_ clock: HLC) -> Bool { clock.milliseconds <= bound }
        func fresh(after floor: HLC?) -> HLC {
            var next = HLC(milliseconds: now, counter: 0, device: device.device)
            if let seen, next.milliseconds <= seen.milliseconds { next = next.receiving(seen, now: now) }
            if let floor, next <= floor { next = floor.advanced(now: now) }
            return next
        }
        let plausibleDevice = isPlausible(device) ? device : nil
        var previous: HLC?
        var corrected: [HLC] = []
        corrected.reserveCapacity(pending.count)
        for stamp in pending {
            var clock = stamp
            if abs(shift) > clockTolerance {
                clock.milliseconds = max(0, clock.milliseconds + shift)
            }
            if !isPlausible(clock) || previous.map({ clock <= $0 }) ?? false {
                let floor = [previous, plausibleDevice].compactMap { $0 }.max()
                clock = fresh(after: floor)
            }
            corrected.append(clock)
            previous = clock
        }
        var deviceClock = plausibleDevice ?? fresh(after: nil)
        if let previous, deviceClock < previous { deviceClock = previous }
        return (corrected, deviceClock)
    }

    /// The cursor to continue a pull from after a page, or nil when the pull is done.
    ///
    /// - Throws: `internal` when the server says there is more but its cursor did not move (a
    ///   loop a faulty server would otherwise cause).
    package static func nextPull(after page: PullResponse, since: Int64) throws(ReplicaError) -> Int64? {
        try nextPull(more: page.more, next: page.next, since: since)
    }

    package static func nextPull(after page: PulledPage, since: Int64) throws(ReplicaError) -> Int64? {
        try nextPull(more: page.more, next: page.next, since: since)
    }

    private static func nextPull(more: Bool, next: Int64, since: Int64) throws(ReplicaError) -> Int64? {
        guard more else { return nil }
        guard next > since else {
            throw ReplicaError(.internal, "the server's pull did not advance past seq \(since)")
        }
        return next
    }

    /// What the server's answer to a held seq says of its history (`GET /v1/checkpoint?seq=…`).
    package enum HistoryCheck: Equatable, Sendable {
        /// It still holds the seq (with the held hash, when one is known).
        case holds
        /// Its history ends before the seq: `head` is where it ends now.
        case wentBack(head: Int64)
        /// It holds another entry at the seq.
        case forked
    }

    /// Whether the server still holds the entry `seq` this replica has seen, from its answer
    /// (the signed entry `seq`, or its head when the history ends before). `hash` is the hash
    /// this replica holds for `seq` (nil when it only knows the seq: an acknowledged change's).
    package static func check(seq: Int64, hash: String?, answer: Checkpoint) -> HistoryCheck {
        if answer.seq < seq { return .wentBack(head: answer.seq) }
        if let hash, answer.seq == seq, answer.hash != hash { return .forked }
        return .holds
    }

    /// The cursor after a rollback, so that the next pull brings the server's history after
    /// `fork` (entries at reused seqs included) and, for each record whose state this replica
    /// took from a lost entry and that nothing handed back will bring again, one earlier entry of
    /// it (`refetch`: the seq of its latest entry held at or before `fork`): a pull item carries
    /// the record as it now stands.
    package static func cursor(afterRollbackTo fork: Int64, current: Int64, refetch: [Int64]) -> Int64 {
        var cursor = min(current, fork)
        for seq in refetch { cursor = min(cursor, max(0, seq - 1)) }
        return max(0, cursor)
    }
}
