/// A message of the HTTP API (``Endpoint``): its name in the OpenAPI document's components and
/// its JSON Schema there (OpenAPI 3.1), written beside the type's own JSON form.
///
/// ```swift
/// PushRequest.schemaName  // "PushRequest"
/// ```
public protocol WireMessage: Sendable {
    /// The name in the OpenAPI document's components (`#/components/schemas/NAME`).
    static var schemaName: String { get }
    /// Its JSON Schema, as text.
    static var jsonSchema: String { get }
}

/// The JSON Schemas of the API's messages and of the parts they share, for the OpenAPI document
/// (the server serves it at `GET /openapi.json`; scripts/schemathesis.sh checks the live server's
/// answers against it).
public enum WireSchemas {
    /// Every schema, by name, in the document's order.
    public static var all: [(name: String, schema: String)] {
        [
            (ErrorBody.schemaName, ErrorBody.jsonSchema),
            ("Health", health),
            ("Role", role),
            (WhoAmI.schemaName, WhoAmI.jsonSchema),
            ("SchemaDocument", schemaDocument),
            ("Identifier", identifier),
            ("Change", change),
            ("Openings", openings),
            (EraseRequest.schemaName, EraseRequest.jsonSchema),
            (EraseResponse.schemaName, EraseResponse.jsonSchema),
            (PushRequest.schemaName, PushRequest.jsonSchema),
            ("CarriedDevice", carriedDevice),
            ("Status", status),
            ("PushResult", pushResult),
            (PushResponse.schemaName, PushResponse.jsonSchema),
            ("Author", author),
            (DeviceRegistration.schemaName, DeviceRegistration.jsonSchema),
            (RegisteredDevice.schemaName, RegisteredDevice.jsonSchema),
            (Checkpoint.schemaName, Checkpoint.jsonSchema),
            ("FieldConflict", fieldConflict),
            ("Outcome", outcome),
            ("Entry", entry),
            ("PullItem", pullItem),
            (PullResponse.schemaName, PullResponse.jsonSchema),
            ("TableDigest", tableDigest),
            (DigestResponse.schemaName, DigestResponse.jsonSchema),
            (ConflictInfo.schemaName, ConflictInfo.jsonSchema),
            (Resolution.schemaName, Resolution.jsonSchema),
        ]
    }

    /// Every message type the endpoints name.
    public static let messages: [any WireMessage.Type] = [
        WhoAmI.self, PushRequest.self, PushResponse.self, PullResponse.self, ConflictInfo.self, Resolution.self,
        DeviceRegistration.self, RegisteredDevice.self, EraseRequest.self, EraseResponse.self, Checkpoint.self,
        DigestResponse.self, ErrorBody.self,
    ]

    static let health = #"""
        {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}
        """#

    static let role = #"""
        {"type": "string", "enum": ["member", "coordinator", "auditor"]}
        """#

    static let schemaDocument = #"""
        {"type": "object", "description": "The schema the server merges with (tables, fields, rules)."}
        """#

    static let identifier = #"""
        {"type": "string", "maxLength": \#(WireProtocol.maximumIdentifierSize)}
        """#

    static let change = #"""
        {"type": "object", "required": ["change_id", "table", "record_id", "op", "fields", "base_version", "hlc", "device"], "properties": {
            "change_id": {"$ref": "#/components/schemas/Identifier", "description": "A UUIDv7; another id is rejected with reason schema:change_id."},
            "table": {"$ref": "#/components/schemas/Identifier"},
            "record_id": {"$ref": "#/components/schemas/Identifier"},
            "op": {"type": "string", "enum": ["insert", "update", "delete", "erase"], "description": "erase is the server's own (POST /v1/erase); pushed, it is rejected."},
            "fields": {"type": "object", "description": "Only the fields the change sets; a personal field's non-null value as a commitment {\"commitment\": HEX} (SPEC §8), its opening in the push's values — a plain one makes the push 400 plain_personal_value; each value at most \#(WireProtocol.maximumValueSize) bytes of JSON (a change with a bigger one is rejected, reason value_too_large); integers within ±\#(WireProtocol.maximumSafeInteger) (RFC 7493), else the push is 400.", "propertyNames": {"maxLength": \#(WireProtocol.maximumIdentifierSize)}},
            "base_version": {"type": "integer", "minimum": 0, "maximum": \#(WireProtocol.maximumSafeInteger)},
            "hlc": {"$ref": "#/components/schemas/Identifier", "description": "15-digit milliseconds, '.', 5-digit counter, '.', device id; more than 5 minutes ahead of the server is rejected with reason clock."},
            "device": {"$ref": "#/components/schemas/Identifier"},
            "signature": {"$ref": "#/components/schemas/Identifier"}}}
        """#

    static let openings = #"""
        {"type": "object", "description": "Personal values beside the entries (SPEC §8): by commitment (SHA-256 of the salt's 16 bytes and the value's RFC 8785 bytes, hex), the salt and the value.", "propertyNames": {"pattern": "^[0-9a-f]{64}$"}, "additionalProperties": {"type": "object", "required": ["salt", "value"], "properties": {"salt": {"type": "string", "pattern": "^[0-9a-f]{32}$"}, "value": {}}}}
        """#

    static let carriedDevice = #"""
        {"type": "object", "required": ["device", "public_key", "organisation"], "properties": {"device": {"type": "string", "maxLength": \#(WireProtocol.maximumIdentifierSize)}, "public_key": {"type": "string", "maxLength": \#(WireProtocol.maximumIdentifierSize), "description": "The device's Ed25519 public key, base64."}, "organisation": {"type": "string", "maxLength": \#(WireProtocol.maximumIdentifierSize), "description": "The organisation the device's replica works for (tandem init --org)."}}}
        """#

    static let status = #"""
        {"type": "string", "enum": ["applied", "merged", "conflict", "rejected", "duplicate"]}
        """#

    static let pushResult = #"""
        {"type": "object", "required": ["change_id", "status", "seq", "version", "reason"], "properties": {"change_id": {"type": "string"}, "status": {"$ref": "#/components/schemas/Status"}, "seq": {"type": ["integer", "null"]}, "version": {"type": ["integer", "null"]}, "reason": {"type": ["string", "null"], "description": "Why a change was rejected: schema:…, check:…, clock, value_too_large, signature, deleted, referenced, unique:…, reference:…, not_permitted."}}}
        """#

    static let author = #"""
        {"type": "object", "required": ["organisation", "role"], "properties": {"organisation": {"type": ["string", "null"]}, "role": {"type": "string", "enum": ["member", "coordinator", "auditor", "server"]}, "device": {"type": ["string", "null"]}}}
        """#

    static let fieldConflict = #"""
        {"type": "object", "required": ["field", "rule", "kept", "lost"], "properties": {"field": {"type": "string"}, "rule": {"type": "string"}, "kept": {}, "lost": {}}}
        """#

    static let outcome = #"""
        {"type": "object", "required": ["status"], "properties": {"status": {"$ref": "#/components/schemas/Status"}, "version": {"type": ["integer", "null"]}, "applied": {"type": "array", "items": {"type": "string"}}, "conflicts": {"type": "array", "items": {"$ref": "#/components/schemas/FieldConflict"}}, "reason": {"type": ["string", "null"]}}}
        """#

    static let entry = #"""
        {"type": "object", "required": ["change_id", "time", "author", "op", "fields", "outcome"], "properties": {"change_id": {"type": "string"}, "time": {"type": "string"}, "author": {"$ref": "#/components/schemas/Author"}, "op": {"type": "string", "enum": ["insert", "update", "delete", "erase"]}, "fields": {"type": "object"}, "outcome": {"$ref": "#/components/schemas/Outcome"}, "hlc": {"type": ["string", "null"]}, "base_version": {"type": ["integer", "null"], "description": "The version the change was made on."}, "device": {"type": ["string", "null"], "description": "The device that signed the change."}, "signature": {"type": ["string", "null"], "description": "The change's signature, so that a replica can hand the change back to a server that lost it."}}}
        """#

    static let pullItem = #"""
        {"type": "object", "required": ["seq", "table", "record_id", "version", "deleted", "record", "entry"], "properties": {"seq": {"type": "integer"}, "table": {"type": "string"}, "record_id": {"type": "string"}, "version": {"type": "integer"}, "deleted": {"type": "boolean"}, "visible": {"type": "boolean", "description": "false: the record no longer reaches this caller and leaves its replica"}, "record": {"type": ["object", "null"]}, "entry": {"oneOf": [{"$ref": "#/components/schemas/Entry"}, {"type": "null"}]}}}
        """#

    static let tableDigest = #"""
        {"type": "object", "required": ["table", "records", "digest"], "properties": {"table": {"type": "string"}, "records": {"type": "integer", "minimum": 0, "description": "Live records of the table the token may see."}, "digest": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "XOR of each record's SHA-256 over the RFC 8785 bytes of [id, version, {field: value} of its set fields]; 64 zeros for none (docs/sync.md)."}}}
        """#
}

extension ErrorBody: WireMessage {
    public static let schemaName = "Error"
    public static var jsonSchema: String {
        let codes = ErrorCode.all.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        return #"""
            {"type": "object", "required": ["error", "message"], "properties": {"error": {"type": "string", "enum": [\#(codes)], "description": "A stable code; its HTTP status follows from it."}, "message": {"type": "string"}}}
            """#
    }
}

extension WhoAmI: WireMessage {
    public static let schemaName = "WhoAmI"
    public static let jsonSchema = #"""
        {"type": "object", "required": ["organisation", "role"], "properties": {"organisation": {"type": ["string", "null"]}, "role": {"$ref": "#/components/schemas/Role"}}}
        """#
}

extension EraseRequest: WireMessage {
    public static let schemaName = "EraseRequest"
    public static let jsonSchema = #"""
        {"type": "object", "required": ["table", "record_id"], "properties": {"table": {"type": "string"}, "record_id": {"type": "string"}}}
        """#
}

extension EraseResponse: WireMessage {
    public static let schemaName = "EraseResponse"
    public static let jsonSchema = #"""
        {"type": "object", "required": ["seq", "version", "erased", "unerasable"], "properties": {"seq": {"type": "integer", "description": "The erasure's history entry."}, "version": {"type": "integer"}, "erased": {"type": "array", "items": {"type": "string"}, "description": "The personal fields that held a value."}, "unerasable": {"type": "integer", "minimum": 0, "description": "Entries made before personal values were committed to that hold the record's values inside the chain."}}}
        """#
}

extension PushRequest: WireMessage {
    public static let schemaName = "PushRequest"
    public static let jsonSchema = #"""
        {"type": "object", "required": ["changes"], "properties": {"values": {"$ref": "#/components/schemas/Openings"}, "changes": {"type": "array", "maxItems": \#(WireProtocol.maximumChangesPerPush), "items": {"$ref": "#/components/schemas/Change"}}, "devices": {"type": "array", "maxItems": \#(WireProtocol.maximumChangesPerPush), "description": "Device registrations a bundle carries (docs/sync.md, Bundles): registered only when a coordinator pushes, for a device the server does not know, of an organisation it holds; at most one a change.", "items": {"$ref": "#/components/schemas/CarriedDevice"}}}}
        """#
}

extension PushResponse: WireMessage {
    public static let schemaName = "PushResponse"
    public static let jsonSchema = #"""
        {"type": "object", "required": ["results"], "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/PushResult"}}}}
        """#
}

extension DeviceRegistration: WireMessage {
    public static let schemaName = "DeviceRegistration"
    public static let jsonSchema = #"""
        {"type": "object", "required": ["device", "public_key"], "properties": {"device": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,128}$", "not": {"const": "server"}, "description": "The replica's device id (not `server`)."}, "public_key": {"type": "string", "pattern": "^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$", "description": "The device's Ed25519 public key: 32 bytes, canonical base64."}}}
        """#
}

extension RegisteredDevice: WireMessage {
    public static let schemaName = "Device"
    public static let jsonSchema = #"""
        {"type": "object", "required": ["device", "public_key", "organisation", "seq"], "properties": {"device": {"type": "string"}, "public_key": {"type": "string"}, "organisation": {"type": ["string", "null"]}, "seq": {"type": "integer", "description": "The history entry that registered it."}}}
        """#
}

extension Checkpoint: WireMessage {
    public static let schemaName = "Checkpoint"
    public static let jsonSchema = #"""
        {"type": "object", "required": ["seq", "hash", "time", "public_key", "signature"], "properties": {"seq": {"type": "integer"}, "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "time": {"type": "string"}, "public_key": {"type": "string", "description": "The server's Ed25519 public key, base64."}, "signature": {"type": "string", "description": "Ed25519 over the RFC 8785 bytes of {seq, hash, time}, base64."}}}
        """#
}

extension PullResponse: WireMessage {
    public static let schemaName = "PullResponse"
    public static let jsonSchema = #"""
        {"type": "object", "required": ["items", "next", "more"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/PullItem"}}, "next": {"type": "integer", "minimum": 0}, "more": {"type": "boolean"}, "checkpoint": {"description": "The history entry at `next` signed by the server (null when next is 0): the replica presents it at its next sync (GET /v1/checkpoint).", "oneOf": [{"$ref": "#/components/schemas/Checkpoint"}, {"type": "null"}]}, "schema_version": {"type": "integer", "minimum": 1, "description": "the version of the schema the server merges with; a replica on an older one fetches /v1/schema and migrates first"}, "values": {"$ref": "#/components/schemas/Openings"}}}
        """#
}

extension DigestResponse: WireMessage {
    public static let schemaName = "DigestResponse"
    public static let jsonSchema = #"""
        {"type": "object", "required": ["tables"], "properties": {"tables": {"type": "array", "items": {"$ref": "#/components/schemas/TableDigest"}, "description": "One a schema table, in the schema's order."}}}
        """#
}

extension ConflictInfo: WireMessage {
    public static let schemaName = "Conflict"
    public static let jsonSchema = #"""
        {"type": "object", "required": ["id", "table", "record_id", "field", "current", "incoming", "status"], "properties": {"id": {"type": "string"}, "table": {"type": "string"}, "record_id": {"type": "string"}, "field": {"type": "string"}, "current": {}, "incoming": {}, "status": {"type": "string", "enum": ["open", "resolved"]}}}
        """#
}

extension Resolution: WireMessage {
    public static let schemaName = "Resolution"
    public static let jsonSchema = #"""
        {"oneOf": [
            {"type": "object", "required": ["keep"], "properties": {"keep": {"type": "string", "enum": ["current", "incoming"]}}, "not": {"required": ["value"]}},
            {"type": "object", "required": ["value"], "properties": {"value": {}}, "not": {"required": ["keep"]}}]}
        """#
}
