public import TandemProtocol

extension SyncAPI {
    /// `POST /v1/erase` (coordinators; SPEC §8): erases the personal data of a record. Nil when
    /// the server says it was erased already (409 `erased`).
    ///
    /// ```swift
    /// let answer = try api.erase(EraseRequest(table: "person", recordID: id))
    /// answer?.erased  // ["email", "full_name"]
    /// ```
    ///
    /// - Throws: `notPermitted` (77) for a token that is not a coordinator's; `notFound` (66) for
    ///   a record the server does not hold; `invalidData` (65) for a table without personal data
    ///   or a deleted record; otherwise as every call.
    public func erase(_ erasure: EraseRequest) throws(ReplicaError) -> EraseResponse? {
        let request = TransportRequest(.erase, body: Array(erasure.json.serialized().utf8))
        let response: TransportResponse
        do {
            response = try send(request)
        } catch {
            guard error.serverCode == .erased else { throw error }
            return nil
        }
        return try decode(response, of: request) { json throws(ProtocolError) in try EraseResponse(json: json) }
    }
}
