/// What a token may do (SPEC §6). `server` is the server itself (`org add`).
public enum Role: String, Hashable, Sendable, CaseIterable {
    case member, coordinator, auditor, server
}

/// Who made a change: always taken from the token (and the device that signed), never from the body.
public struct Author: Hashable, Sendable {
    public var organisation: String?
    public var role: Role
    public var device: String?

    public init(organisation: String?, role: Role, device: String? = nil) {
        self.organisation = organisation
        self.role = role
        self.device = device
    }

    /// `{"organisation", "role", "device"}`.
    public var json: JSONValue {
        .object([
            JSONMember("organisation", organisation.map(JSONValue.string) ?? .null),
            JSONMember("role", .string(role.rawValue)),
            JSONMember("device", device.map(JSONValue.string) ?? .null),
        ])
    }

    public init(json: JSONValue) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: "author") { ProtocolError(.invalidJSON, $0) }
        organisation = try object.optionalString("organisation")
        role = try object.choice("role")
        device = try object.optionalString("device")
    }
}
