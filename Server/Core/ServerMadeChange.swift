public import TandemProtocol

/// A change the server makes and signs itself for the principal who asked — a conflict's
/// decision (``ResolveWork``), an erasure (``EraseWork``) — merged like any other: a
/// ``PushBatch`` of one, driven inside the asking work's transaction. Its personal values are
/// committed to with the server's salts, as a replica's would be (SPEC §8).
struct ServerMadeChange: Sendable {
    private(set) var batch: PushBatch

    init(
        _ op: TandemProtocol.Operation, fields: [String: JSONValue] = [:], of record: RecordState,
        in table: TableSchema, for principal: Principal, merge: Merge, now: Int64, serverKey: SigningKey
    ) {
        let clock = HLC(milliseconds: now, counter: 0, device: DeviceRegistry.serverDevice)
        let (change, openings) = Change(
            changeID: UUIDv7Generator.id(at: clock), table: table.name, recordID: record.id, op: op, fields: fields,
            baseVersion: record.version, hlc: clock.description, device: DeviceRegistry.serverDevice
        ).sealed(personal: table.personalFields, salts: SaltKey(serverKey))
        batch = PushBatch(
            [
                ReceivedChange(
                    change: change.signed(with: serverKey),
                    author: principal.author(device: DeviceRegistry.serverDevice),
                    isSigned: true, openings: Openings(openings))
            ], merge: merge, now: now, serverKey: serverKey)
    }

    mutating func start(at head: LogHead) throws -> FactRequest? { try batch.start(at: head) }

    mutating func advance(with facts: Facts) throws -> FactRequest? { try batch.advance(with: facts) }
}
