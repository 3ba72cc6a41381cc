public import TandemProtocol

/// Installing the next version of the schema (`tandem-server schema apply`, docs/schema.md): the
/// proposed document checked against the version in force (``SchemaEvolution``: additive changes
/// only), given the next version number, and logged as a server-signed `_schema` entry
/// (``SchemaRegistry``); the store keeps ``installed`` as its schema in the same transaction
/// (``StoreAdapter/install(_:)``).
public struct SchemaWork: StoreWork {
    let proposed: Schema
    let current: Schema
    let now: Int64
    let serverKey: SigningKey
    public private(set) var writes = BatchWrites()
    /// The schema installed (its version bumped) and the seq of its history entry, once done.
    public private(set) var installed: (schema: Schema, seq: Int64)?
    /// Whether the installed schema keeps other references as rows than the one in force
    /// (``ReferenceIndex``): the store indexes its references again, in the same transaction.
    public var reindexesReferences: Bool {
        guard let installed else { return false }
        return ReferenceIndex(schema: installed.schema) != ReferenceIndex(schema: current)
    }

    /// - Parameter current: the schema in force, in the transaction that installs the next.
    public init(_ proposed: Schema, over current: Schema, now: Int64, serverKey: SigningKey) {
        self.proposed = proposed
        self.current = current
        self.now = now
        self.serverKey = serverKey
    }

    /// - Throws: ``ServerError`` `schema_refused` naming the first change that is not additive.
    public mutating func start(at head: LogHead) throws -> FactRequest? {
        do throws(ProtocolError) {
            try SchemaEvolution.check(from: current, to: proposed)
        } catch {
            throw ServerError(.schemaRefused, error.message)
        }
        var next = proposed
        next.version = current.version + 1
        do throws(ProtocolError) {
            try next.validate()
        } catch {
            throw ServerError(.schemaRefused, error.message)
        }
        let clock = HLC(milliseconds: now, counter: 0, device: DeviceRegistry.serverDevice)
        var change = SchemaRegistry.installation(
            of: next, changeID: UUIDv7Generator.id(at: clock), hlc: clock.description)
        change.device = DeviceRegistry.serverDevice
        var chain = LogChain(head: head, serverKey: serverKey)
        let seq = chain.append(
            change.signed(with: serverKey),
            by: Author(organisation: nil, role: .server, device: DeviceRegistry.serverDevice),
            outcome: Outcome(status: .applied, version: Int64(next.version), applied: ["document", "version"]),
            now: now, to: &writes)
        installed = (next, seq)
        return nil
    }

    public mutating func advance(with facts: Facts) throws -> FactRequest? { nil }
}

extension StoreAdapter {
    /// Installs `proposed` as the next version of the store's schema (``SchemaWork``); serving
    /// processes take it up at their next request.
    ///
    /// - Returns: the schema installed (its version bumped) and the seq of its history entry.
    /// - Throws: ``ServerError`` `schema_refused` naming the first change that is not additive.
    public func applySchema(_ proposed: Schema, now: Int64) async throws -> (schema: Schema, seq: Int64) {
        let serverKey = serverKey
        let work = try await install { merge in SchemaWork(proposed, over: merge.schema, now: now, serverKey: serverKey)
        }
        guard let installed = work.installed else {
            throw ServerError(.storage, "the schema was not installed")
        }
        return installed
    }
}
