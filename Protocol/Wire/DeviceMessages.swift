/// `POST /v1/devices` body: `{"device", "public_key"}` — a replica's device id and its Ed25519
/// public key (base64), to be registered for the token's organisation (SPEC §8).
///
/// ```swift
/// let body = DeviceRegistration(device: replica.device, publicKey: try replica.devicePublicKey())
/// body.json.serialized()  // {"device":"d-…","public_key":"…"}
/// ```
public struct DeviceRegistration: Hashable, Sendable {
    public var device: String
    public var publicKey: String

    public init(device: String, publicKey: String) {
        self.device = device
        self.publicKey = publicKey
    }

    public var json: JSONValue {
        .object([JSONMember("device", .string(device)), JSONMember("public_key", .string(publicKey))])
    }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "body") { ProtocolError(.invalidJSON, $0) }
        device = try object.string("device")
        publicKey = try object.string("public_key")
    }
}

/// `POST /v1/devices` answer: `{"device", "public_key", "organisation", "seq"}` — the device and
/// key the server registered, the organisation it registered them for (nil for a coordinator),
/// and the history entry that records it.
public struct RegisteredDevice: Hashable, Sendable {
    public var device: String
    public var publicKey: String
    public var organisation: String?
    /// The seq of the history entry that registered it.
    public var seq: Int64

    public init(device: String, publicKey: String, organisation: String?, seq: Int64) {
        self.device = device
        self.publicKey = publicKey
        self.organisation = organisation
        self.seq = seq
    }

    public var json: JSONValue {
        .object([
            JSONMember("device", .string(device)), JSONMember("public_key", .string(publicKey)),
            JSONMember("organisation", organisation.map(JSONValue.string) ?? .null), JSONMember("seq", .int(seq)),
        ])
    }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "") { ProtocolError(.invalidJSON, $0) }
        device = try object.string("device")
        publicKey = try object.string("public_key")
        organisation = try object.optionalString("organisation")
        seq = try object.int64("seq")
    }
}
