import GRDB
import TandemProtocol

/// A part of a replica with one job — editing (``ReplicaEditor``), applying pulls
/// (``PullApplier``), the conflict cache (``ConflictCache``), remote settings
/// (``RemoteSettings``), the audit store (``AuditStore``), bundles (``BundleExchange``). The
/// ``Replica`` owns the file, the schema and the device's identity and hands its parts out
/// (`replica.editor`, `replica.pulls`, …); a part reaches the database through it, so every part
/// writes through the one writer.
protocol ReplicaPart: Sendable {
    var replica: Replica { get }
}

extension ReplicaPart {
    /// The schema in force (``Replica/schema``).
    var schema: Schema { replica.schema }

    /// This replica's device id (``Replica/device``).
    var device: String { replica.device }

    /// Runs `body` in one write transaction of the replica (``Replica/write(_:)``).
    func write<T>(_ body: (Database) throws -> T) throws(ReplicaError) -> T { try replica.write(body) }

    /// Runs `body` in a read of the replica (``Replica/read(_:)``).
    func read<T>(_ body: (Database) throws -> T) throws(ReplicaError) -> T { try replica.read(body) }

    /// The table called `name`, or `notFound` naming it.
    func table(_ name: String) throws(ReplicaError) -> TableSchema { try replica.table(name) }
}
