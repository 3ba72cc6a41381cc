import GRDB
import TandemProtocol

/// A replica's side of bundles (docs/sync.md, Bundles): its pending changes signed into an
/// outgoing bundle, other replicas' bundles queued (`tandem_carried`, migration `v5-bundles`)
/// until the next push carries them, and the server's incoming bundle applied like a pull.
///
/// ```swift
/// let file = try replica.bundles.outgoing().file(signedWith: try replica.deviceKey())
/// let queued = try carrier.bundles.queue(bundle)
/// ```
public struct BundleExchange: ReplicaPart {
    let replica: Replica

    /// Every pending change, frozen (``Replica/freezeOutbox()``), sealed and signed with the device key
    /// exactly as a push would send it, with the openings of its commitments and the device's
    /// key and organisation: what
    /// `tandem bundle export FILE` writes. The changes stay pending: when this replica later
    /// pushes them itself, the server answers `duplicate` for those a bundle brought first.
    public func outgoing() throws(ReplicaError) -> ChangeBundle {
        try replica.freezeOutbox()
        let key = try replica.deviceKey()
        let (rows, organisation, now) = try read { db in
            (
                try Row.fetchAll(
                    db,
                    sql: "SELECT \(OutboxRow.columns) FROM tandem_outbox WHERE change_id IS NOT NULL ORDER BY seq"
                ).map(OutboxRow.init),
                try Setting.organisation.read(in: db), try replica.correctedNow(in: db)
            )
        }
        let (sealed, openings) = replica.sealed(rows.map { $0.change(device: device) }, salts: SaltKey(key))
        return ChangeBundle(
            device: device, publicKey: key.publicKey, organisation: organisation,
            created: Replica.timestamp(now), changes: sealed.signed(with: key),
            values: Openings(openings.flatMap { $0 }))
    }

    /// What ``queue(_:)`` did with a bundle.
    public struct Queued: Hashable, Sendable {
        /// Changes queued now.
        public var queued = 0
        /// Changes queued by an earlier import (or this replica's own): left as they were.
        public var known = 0
    }

    /// Queues another replica's bundle for this replica's next push, in one transaction: its
    /// changes (those not queued already) and its device registration. A bundle of this very
    /// device queues nothing (its changes are in the outbox).
    ///
    /// - Throws: `notPermitted` when this replica's token may not carry the bundle's changes
    ///   (``DeviceRegistry/mayCarry(_:by:)``: a coordinator carries any, a member its own
    ///   organisation's); `usage` when this replica does not know who it is yet.
    public func queue(_ bundle: ChangeBundle) throws(ReplicaError) -> Queued {
        guard bundle.device != device else { return Queued(known: bundle.changes.count) }
        return try write { db in
            let settings = try Setting.readAll(in: db)
            guard let role = settings[.role].flatMap(Role.init(rawValue:)) else {
                throw ReplicaError(
                    .usage,
                    "this replica does not know whom it works for; set a server (tandem remote) or init it with --org")
            }
            let carrier = Author(organisation: settings[.organisation], role: role, device: device)
            let author = Author(organisation: bundle.organisation, role: .member, device: bundle.device)
            guard DeviceRegistry.mayCarry(author, by: carrier) else {
                let whose = bundle.organisation.map { "organisation \($0)'s" } ?? "an unknown organisation's"
                throw ReplicaError(
                    .notPermitted,
                    "this replica (\(role.rawValue)\(carrier.organisation.map { " of \($0)" } ?? "")) may not carry "
                        + "\(whose) changes; a coordinator's replica, or one of that organisation, may")
            }
            if let registration = bundle.registration {
                try db.execute(
                    sql: """
                        INSERT INTO tandem_carried_device(device, public_key, organisation) VALUES (?, ?, ?)
                        ON CONFLICT(device) DO UPDATE SET public_key = excluded.public_key,
                            organisation = excluded.organisation
                        """, arguments: [registration.device, registration.publicKey, registration.organisation])
            }
            let insert = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO tandem_carried(change_id, device, change) VALUES (?, ?, ?)")
            var queued = Queued()
            for change in bundle.changes {
                try insert.execute(arguments: [change.changeID, change.device, change.json.serialized()])
                if db.changesCount > 0 { queued.queued += 1 } else { queued.known += 1 }
                // The openings go with the change, for the push that carries it (unless the record
                // was erased meanwhile: the server would refuse the change `erased` anyway).
                let held = Sealing.commitments(in: .object(change.fields.map { JSONMember($0, $1) }))
                if !held.isEmpty, try !Replica.isErased(change.recordID, db: db) {
                    try Replica.keep(bundle.values, of: (change.table, change.recordID), holding: held, db: db)
                }
            }
            return queued
        }
    }

    /// How many carried changes wait for a push.
    public func carriedCount() throws(ReplicaError) -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM tandem_carried") ?? 0 }
    }

    /// Up to `limit` carried changes after queue seq `seq`, in import order, with the
    /// registrations of their devices that their bundles carried.
    func carriedChanges(after seq: Int64, limit: Int) throws(ReplicaError) -> (
        seqs: [Int64], changes: [Change], devices: [CarriedDevice]
    ) {
        try read { db in
            var seqs: [Int64] = []
            var changes: [Change] = []
            for row in try Row.fetchAll(
                db, sql: "SELECT seq, change FROM tandem_carried WHERE seq > ? ORDER BY seq LIMIT ?",
                arguments: [seq, limit])
            {
                seqs.append(row["seq"])
                changes.append(try Change(json: JSONValue.parse(row["change"] as String)))
            }
            let devices = try Row.fetchAll(
                db, sql: "SELECT device, public_key, organisation FROM tandem_carried_device ORDER BY device"
            ).map { CarriedDevice(device: $0["device"], publicKey: $0["public_key"], organisation: $0["organisation"]) }
            let used = Set(changes.map(\.device))
            return (seqs, changes, devices.filter { used.contains($0.device) })
        }
    }

    /// The server answered carried changes: they leave the queue (in one transaction).
    func forgetCarried(_ seqs: [Int64]) throws(ReplicaError) {
        try write { db in
            let delete = try db.cachedStatement(sql: "DELETE FROM tandem_carried WHERE seq = ?")
            for seq in seqs { try delete.execute(arguments: [seq]) }
        }
    }
    /// Applies an incoming bundle like a pull page (records, arrivals and departures, history,
    /// the cursor moving to its `next`; pending edits kept and rebased), then caches its
    /// conflicts; a newer schema is adopted first. A bundle reaching no further than the cursor
    /// applies nothing (importing one twice is harmless).
    ///
    /// - Returns: how many items were applied (0: nothing new).
    /// - Throws: `invalidData` (65) for a bundle made for another organisation, signed by another
    ///   key than the server's this replica knows (the first bundle or pull page teaches it), older
    ///   than what the replica holds, or starting after it (a gap).
    public func apply(_ bundle: IncomingBundle) throws(ReplicaError) -> Int {
        let (organisation, serverKey, cursor) = try read { db in
            (try Setting.organisation.read(in: db), try Setting.serverKey.read(in: db), try Replica.cursor(in: db))
        }
        guard organisation == bundle.organisation else {
            throw ReplicaError(
                .invalidData,
                "this bundle is meant for organisation \(bundle.organisation); this replica works for "
                    + (organisation ?? "no organisation (tandem init --org ID)"))
        }
        guard (serverKey ?? bundle.publicKey) == bundle.publicKey,
            bundle.page.checkpoint.map({ $0.publicKey == bundle.publicKey }) ?? true
        else { throw ReplicaError(.invalidData, "this bundle is signed by another key than this replica's server's") }
        guard bundle.next >= cursor else {
            throw ReplicaError(
                .invalidData,
                "this bundle is older than what this replica holds (it reaches seq \(bundle.next); the replica holds up to \(cursor))"
            )
        }
        guard bundle.since <= cursor else {
            throw ReplicaError(
                .invalidData,
                "this bundle starts after seq \(bundle.since), but this replica holds up to seq \(cursor) only; "
                    + "ask for one with --since \(cursor)")
        }
        guard bundle.next > cursor else { return 0 }
        try replica.adopt(bundle.schema)
        var page = bundle.page
        page.next = bundle.next
        guard try replica.pulls.apply(page, since: cursor) else {
            throw ReplicaError(.temporary, "another tandem pulled into this replica meanwhile; import the bundle again")
        }
        if serverKey == nil { try write { db in try Setting.serverKey.write(bundle.publicKey, in: db) } }
        try replica.conflicts.cache(bundle.conflicts)
        return page.items.count
    }
}

extension Replica {
    /// The bundles of this replica, outgoing, carried and incoming.
    public var bundles: BundleExchange { BundleExchange(replica: self) }
}
