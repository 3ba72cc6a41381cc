public import TandemProtocol

/// What `POST /v1/devices` answers: the device and key the server registered, the organisation
/// it registered them for (nil for a coordinator), and the history entry that records it.
public struct DeviceRegistration: Hashable, Sendable {
    public var device: String
    public var publicKey: String
    public var organisation: String?
    public var seq: Int64

    public init(device: String, publicKey: String, organisation: String?, seq: Int64) {
        self.device = device
        self.publicKey = publicKey
        self.organisation = organisation
        self.seq = seq
    }

    /// `{"device", "public_key", "organisation", "seq"}`.
    public init(json: JSONValue) throws(ProtocolError) {
        guard case let .string(device)? = json["device"], case let .string(publicKey)? = json["public_key"],
            case let .int(seq)? = json["seq"]
        else {
            throw ProtocolError(.invalidJSON, "a device registration needs \"device\", \"public_key\" and \"seq\"")
        }
        self.device = device
        self.publicKey = publicKey
        self.seq = seq
        if case let .string(organisation)? = json["organisation"] { self.organisation = organisation }
    }
}

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
    public func registerDevice(_ device: String, publicKey: String) throws(ReplicaError) -> DeviceRegistration {
        let body = JSONValue.object([
            JSONMember("device", .string(device)), JSONMember("public_key", .string(publicKey)),
        ])
        let request = TransportRequest(method: .post, path: "/v1/devices", body: Array(body.serialized().utf8))
        let response: TransportResponse
        do {
            response = try send(request)
        } catch {
            guard error.code == .invalidData, error.message.contains("device_exists") else { throw error }
            throw ReplicaError(
                .invalidData,
                "the server already has device \(device) registered with another key or for another organisation, "
                    + "so this replica cannot push there with this token; make a new replica for it "
                    + "(tandem init --server URL --token TOKEN --db NEW)")
        }
        let registration = try decode(response, of: request) { json throws(ProtocolError) in
            try DeviceRegistration(json: json)
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
            method: .get, path: "/v1/history",
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
            method: .get, path: "/v1/checkpoint", query: query.parameters.map { .init($0.name, $0.value) })
        return try decode(send(request), of: request) { json throws(ProtocolError) in try Checkpoint(json: json) }
    }
}
