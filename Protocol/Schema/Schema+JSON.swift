/// The schema document's JSON form (SPEC §2): `{"name", "version", "tables": [{"name", "fields": […],
/// "owners", "personal", "visibility", "delete", "constraints"}]}`, each field `{"name", "type", "required", "unique",
/// "values", "references", "default", "rule", "not_before"}`. Unknown members are refused.
extension Schema {
    /// Reads a schema from its JSON (without validating it: ``decode(_:)`` does both).
    public init(json: JSONValue) throws(ProtocolError) {
        let fail = { (reason: String) in ProtocolError(.invalidSchema, "schema document: \(reason)") }
        let document = try JSONObjectReader(json, path: "", fail: fail)
        try document.refuseUnknown(["name", "version", "tables", "limits"])
        name = try document.string("name")
        version = try document.int("version")
        var tables: [TableSchema] = []
        for (index, item) in try document.array("tables").enumerated() {
            tables.append(try TableSchema(json: item, path: "tables[\(index)]", fail: fail))
        }
        self.tables = tables
        if let json = document.optional("limits") {
            limits = try ChangeLimits(json: json, fail: fail)
        } else {
            limits = .standard
        }
    }

    /// The JSON form, members in a fixed order, optional members only when set.
    public var json: JSONValue {
        .object([
            JSONMember("name", .string(name)), JSONMember("version", .int(Int64(version))),
            JSONMember("tables", .array(tables.map(\.json))), JSONMember("limits", limits.json),
        ])
    }
}

extension TableSchema {
    init(json: JSONValue, path: String, fail: @escaping (String) -> ProtocolError) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: path, fail: fail)
        try object.refuseUnknown(["name", "fields", "owners", "personal", "visibility", "delete", "constraints"])
        name = try object.string("name")
        var fields: [FieldSchema] = []
        for (index, item) in try object.array("fields").enumerated() {
            fields.append(try FieldSchema(json: item, path: "\(path).fields[\(index)]", fail: fail))
        }
        self.fields = fields
        owners = try object.optionalStrings("owners") ?? []
        isPersonal = try object.bool("personal", default: false)
        visibility = try object.choice("visibility", default: .all)
        deleteRule = try object.choice("delete", default: .deleteWins)
        var constraints: [Constraint] = []
        if object.has("constraints") {
            for (index, item) in try object.array("constraints").enumerated() {
                constraints.append(try Constraint(json: item, path: "\(path).constraints[\(index)]", fail: fail))
            }
        }
        self.constraints = constraints
    }

    var json: JSONValue {
        var members = [
            JSONMember("name", .string(name)), JSONMember("owners", .array(owners.map(JSONValue.string))),
        ]
        if isPersonal { members.append(JSONMember("personal", .bool(true))) }
        if visibility != .all { members.append(JSONMember("visibility", .string(visibility.rawValue))) }
        members.append(JSONMember("delete", .string(deleteRule.rawValue)))
        members.append(JSONMember("fields", .array(fields.map(\.json))))
        if !constraints.isEmpty { members.append(JSONMember("constraints", .array(constraints.map(\.json)))) }
        return .object(members)
    }
}

extension FieldSchema {
    init(json: JSONValue, path: String, fail: @escaping (String) -> ProtocolError) throws(ProtocolError) {
        let object = try JSONObjectReader(json, path: path, fail: fail)
        try object.refuseUnknown([
            "name", "type", "required", "unique", "values", "references", "default", "rule", "not_before",
        ])
        name = try object.string("name")
        type = try object.choice("type")
        isRequired = try object.bool("required", default: false)
        isUnique = try object.bool("unique", default: false)
        values = try object.optionalStrings("values")
        references = try object.optionalString("references")
        defaultValue = try object.optionalString("default")
        rule = try object.choice("rule", default: .lww)
        notBefore = try object.optionalString("not_before")
    }

    var json: JSONValue {
        var members = [JSONMember("name", .string(name)), JSONMember("type", .string(type.rawValue))]
        if isRequired { members.append(JSONMember("required", .bool(true))) }
        if isUnique { members.append(JSONMember("unique", .bool(true))) }
        if let values { members.append(JSONMember("values", .array(values.map(JSONValue.string)))) }
        if let references { members.append(JSONMember("references", .string(references))) }
        if let defaultValue { members.append(JSONMember("default", .string(defaultValue))) }
        if rule != .lww { members.append(JSONMember("rule", .string(rule.rawValue))) }
        if let notBefore { members.append(JSONMember("not_before", .string(notBefore))) }
        return .object(members)
    }
}
