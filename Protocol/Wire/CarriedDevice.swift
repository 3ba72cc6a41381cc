/// A device registration a bundle carries to the server (docs/sync.md, Bundles): the device id,
/// its Ed25519 public key (base64) and the organisation its replica works for
/// (`tandem init --org`). In a push (``PushRequest/devices``) the server registers it only when a
/// coordinator's token pushes it, and only for an organisation it holds; it is
/// `{"device", "public_key", "organisation"}`.
///
/// ```swift
/// let carried = CarriedDevice(device: "d1", publicKey: key.publicKey, organisation: org)
/// PushRequest(changes: signed, devices: [carried])
/// ```
public struct CarriedDevice: Hashable, Sendable {
    public var device: String
    public var publicKey: String
    public var organisation: String

    public init(device: String, publicKey: String, organisation: String) {
        self.device = device
        self.publicKey = publicKey
        self.organisation = organisation
    }

    public init(json: JSONValue, path: String = "device") throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: path) { ProtocolError(.invalidJSON, $0) }
        device = try object.string("device")
        publicKey = try object.string("public_key")
        organisation = try object.string("organisation")
    }

    public var json: JSONValue {
        .object([
            JSONMember("device", .string(device)), JSONMember("public_key", .string(publicKey)),
            JSONMember("organisation", .string(organisation)),
        ])
    }
}
