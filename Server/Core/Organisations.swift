public import TandemProtocol

extension StoreAdapter {
    /// Creates an organisation — its record in the schema's organisation table (the one whose
    /// owner is the record itself), a change the server makes and signs, merged like any other
    /// (a ``PushBatch`` of one) — and a member token for it.
    ///
    /// - Throws: ``ServerError`` `no_organisations` (the schema has no such table),
    ///   `bad_organisation` (the merge refuses it).
    public func addOrganisation(name: String, sector: String, now: Int64) async throws -> (id: String, token: String) {
        guard let table = try await currentSchema().tables.first(where: { $0.owners == ["id"] }) else {
            throw ServerError(.noOrganisations, "this schema has no organisation table")
        }
        let clock = HLC(milliseconds: now, counter: 0, device: DeviceRegistry.serverDevice)
        let id = UUIDv7Generator.id(at: clock)
        var fields: [String: JSONValue] = ["name": .string(name)]
        if table.fields.contains(where: { $0.name == "sector" }) { fields["sector"] = .string(sector) }
        let change = Change(
            changeID: UUIDv7Generator.id(at: clock), table: table.name, recordID: id, op: .insert, fields: fields,
            baseVersion: 0, hlc: clock.description, device: DeviceRegistry.serverDevice
        ).signed(with: serverKey)
        let server = Author(organisation: nil, role: .server, device: DeviceRegistry.serverDevice)
        let serverKey = serverKey
        let batch = try await perform { merge in
            PushBatch(
                [ReceivedChange(change: change, author: server, isSigned: true)], merge: merge, now: now,
                serverKey: serverKey)
        }
        guard let result = batch.results.first else {
            throw ServerError(.storage, "the organisation was not merged")
        }
        guard result.status == .applied else {
            throw ServerError(
                .badOrganisation, "the organisation is refused: \(result.reason?.rawValue ?? "rejected")")
        }
        return (id, try await issueToken(role: .member, organisation: id, now: now))
    }
}
