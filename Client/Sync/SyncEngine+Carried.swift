import TandemProtocol

extension SyncEngine {
    /// Sends the changes imported from other replicas' bundles (``BundleExchange/queue(_:)``), as their
    /// devices signed them, in batches, each with the device registrations their bundles carry
    /// (the server registers those only for a coordinator's token); each batch leaves the queue
    /// once answered. The server judges each change as its device's organisation's and answers
    /// `duplicate` for one it has already (docs/sync.md, Bundles). A change from a bundle made
    /// before personal data was committed to, holding a personal value in plain, is not sent (the
    /// server would refuse the whole push): it leaves the queue counted as refused, and its own
    /// replica pushes it, sealed, itself.
    ///
    /// - Returns: how many were sent, and how many of those the server refused.
    func pushCarried() throws(ReplicaError) -> (carried: Int, rejected: Int) {
        var sent = 0
        var rejected = 0
        var last: Int64 = 0
        while true {
            let batch = try replica.bundles.carriedChanges(after: last, limit: batchSize)
            guard let tail = batch.seqs.last else { break }
            let changes = batch.changes.filter { !replica.holdsPlainPersonalValue($0) }
            rejected += batch.changes.count - changes.count
            if !changes.isEmpty {
                let results = try api.push(
                    changes, carrying: batch.devices, values: try replica.openings(for: changes))
                rejected += results.filter { SyncRules.disposition(of: $0) != .accepted }.count
            }
            try replica.bundles.forgetCarried(batch.seqs)
            sent += batch.changes.count
            last = tail
        }
        return (sent, rejected)
    }
}
