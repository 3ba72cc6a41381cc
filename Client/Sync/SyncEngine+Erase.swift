public import TandemProtocol

extension SyncEngine {
    /// What `tandem erase` did.
    public struct Erasure: Hashable, Sendable {
        /// The record's full id.
        public var recordID: String
        /// The server's answer; nil when the record was erased already.
        public var response: EraseResponse?
    }

    /// `tandem erase TABLE ID` (coordinators; SPEC §8): asks the server to erase the record's
    /// personal data, then pulls, so that this replica drops the values too (``Replica/applyErasure(of:in:db:)``).
    ///
    /// - Parameter id: the record's id or a unique prefix (of a record this replica holds).
    /// - Throws: `invalidData` (65) for a table without personal data, before any request;
    ///   `notFound` (66) for a record the replica does not hold; the server's errors (`notPermitted`
    ///   77 for a token that is not a coordinator's).
    public func erase(_ tableName: String, id: String) throws(ReplicaError) -> Erasure {
        let table = try replica.table(tableName)
        guard !table.personalFields.isEmpty else {
            throw ReplicaError(
                .invalidData, "\(table.name): the table holds no personal data, so there is nothing to erase")
        }
        let record = try replica.record(in: table.name, id: id)
        let response = try api.erase(EraseRequest(table: table.name, recordID: record.id))
        _ = try pull()
        return Erasure(recordID: record.id, response: response)
    }
}
