import ArgumentParser
import TandemClient
import TandemProtocol

/// `tandem schema`: the schema the replica holds.
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema", _superCommandName: "tandem",
        abstract: "The replica's schema: tables, fields, types, rules, constraints, version (docs/schema.md).")

    @OptionGroup var replica: ReplicaOptions
    @OptionGroup var output: FormatOptions

    func run() throws {
        try reporting { () throws(ReplicaError) in
            let schema = try replica.open().schema
            switch output.format {
            case .json:
                emit(schema.json.serialized() + "\n")
            case .csv:
                var text = CSVWriter.line(["table", "field", "type", "required", "unique", "rule", "details"])
                for table in schema.tables {
                    for field in table.fields {
                        text += CSVWriter.line([
                            table.name, field.name, field.type.rawValue, String(field.isRequired),
                            String(field.isUnique), field.rule.rawValue, Self.details(of: field),
                        ])
                    }
                }
                emit(text)
            case .table:
                var text = "schema \(schema.name) v\(schema.version)\n"
                for table in schema.tables {
                    let traits = [
                        table.owners.isEmpty ? "coordinators only" : "owners: \(table.owners.joined(separator: ", "))",
                        table.isPersonal ? "personal" : nil, table.visibility == .owners ? "visible to owners" : nil,
                        table.deleteRule.rawValue,
                    ].compactMap { $0 }
                    text += "\n\(table.name) (\(traits.joined(separator: "; ")))\n"
                    text += TextTable.render(
                        header: ["field", "type", "required", "unique", "rule", "details"],
                        rows: table.fields.map { field in
                            [
                                field.name, field.type.rawValue, field.isRequired ? "yes" : "",
                                field.isUnique ? "yes" : "",
                                field.rule.rawValue, Self.details(of: field),
                            ]
                        })
                    for constraint in table.constraints {
                        text += "rule \(constraint.reason): \(constraint)\n"
                    }
                }
                emit(text)
            }
        }
    }

    /// A field's references, values, default and order, as one line.
    static func details(of field: FieldSchema) -> String {
        [
            field.references.map { "→ \($0)" }, field.values.map { $0.joined(separator: "|") },
            field.defaultValue.map { "default \($0)" }, field.notBefore.map { "not before \($0)" },
        ].compactMap { $0 }.joined(separator: "; ")
    }
}
