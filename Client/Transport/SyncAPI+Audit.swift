public import TandemProtocol

extension SyncAPI {
    /// `POST /v1/devices`: registers `publicKey` as the key of `device` for the token's
    /// organisation (SPEC §8). Registering the same device and key again is harmless.
    ///
    /// - Throws: `invalidData` (65) when the server holds that device with another key or for
    ///   another organisation (409 `device_exists`); otherwise as every call (403 for an auditor).
    ///
    /// ```swift
    /// let registered = try api.registerDevice(replica.device, publicKey: try replica.devicePublicKey())
    /// ```
    @discardableResult
    public func registerDevice(_ device: String, publicKey: String) throws(ReplicaError) -> RegisteredDevice {
        let body = DeviceRegistration(device: device, publicKey: publicKey).json
        let request = TransportRequest(.devices, body: Array(body.serialized().utf8))
        let response: TransportResponse
        do {
            response = try send(request)
        } catch {
            guard error.serverCode == .deviceExists else { throw error }
            throw ReplicaError(
                .invalidData,
                "the server already has device \(device) registered with another key or for another organisation, "
                    + "so this replica cannot push there with this token; make a new replica for it "
                    + "(tandem init --server URL --token TOKEN --db NEW)")
        }
        let registration = try decode(response, of: request) { json throws(ProtocolError) in
            try RegisteredDevice(json: json)
        }
        guard registration.device == device, registration.publicKey == publicKey else {
            throw ReplicaError(.internal, "the server registered another device or key than the one sent")
        }
        return registration
    }

    /// `GET /v1/history?since=SEQ&limit=N&values=true`: up to `limit` history lines after `since`, in seq
    /// order, each as its bytes without the newline (auditors and coordinators; 403 → 77).
    public func history(since: Int64, limit: Int) throws(ReplicaError) -> [ArraySlice<UInt8>] {
        let request = TransportRequest(
            .history,
            query: [.init("since", String(since)), .init("limit", String(limit)), .init("values", "true")])
        let body = try send(request).body
        var lines = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    /// `GET /v1/checkpoint`: the server's signed head; with a query, the signed entry at its
    /// seq (the head when the history ends before it), presenting the checkpoint the query
    /// carries (``CheckpointQuery``).
    public func checkpoint(_ query: CheckpointQuery = CheckpointQuery()) throws(ReplicaError) -> Checkpoint {
        let request = TransportRequest(
            .checkpoint, query: query.parameters.map { .init($0.name, $0.value) })
        return try decode(send(request), of: request) { json throws(ProtocolError) in try Checkpoint(json: json) }
    }
}
