public import TandemProtocol

/// How commands print records: `table` for people, `json` and `csv` for scripts (SPEC §3).
public enum OutputFormat: String, Sendable, CaseIterable {
    case table, json, csv
}

/// Renders records in each ``OutputFormat``.
public enum RecordFormat {
    /// A list of records. CSV is what `tandem import` reads back; JSON is an array of records;
    /// a table shows each record by its short id and references by `names` (``RecordNames``).
    public static func render(
        _ records: [Record], of table: TableSchema, as format: OutputFormat, names: RecordNames = RecordNames()
    ) -> String {
        switch format {
        case .json:
            guard !records.isEmpty else { return "[]\n" }
            var output = "[\n"
            for (index, record) in records.enumerated() {
                record.json(in: table).write(to: &output)
                output += index == records.count - 1 ? "\n" : ",\n"
            }
            return output + "]\n"
        case .csv:
            var output = CSVWriter.line(["id"] + table.fieldNames)
            for record in records {
                output += CSVWriter.line([record.id] + table.fields.map { record[$0.name].plainText })
            }
            return output
        case .table:
            let rows = records.map { record in
                [names.shortID(record.id, in: table.name)] + table.fields.map { names.text(record[$0.name], of: $0) }
            }
            return TextTable.render(header: ["id"] + table.fieldNames, rows: rows, counting: "record")
        }
    }

    /// One record: JSON as an object; table as `field  value` lines (references by `names`);
    /// CSV as header and row.
    public static func render(
        _ record: Record, of table: TableSchema, as format: OutputFormat, names: RecordNames = RecordNames()
    ) -> String {
        switch format {
        case .json: return record.json(in: table).serialized() + "\n"
        case .csv: return render([record], of: table, as: .csv)
        case .table:
            let rows = [["id", record.id]] + table.fields.map { [$0.name, names.text(record[$0.name], of: $0)] }
            return TextTable.render(header: nil, rows: rows)
        }
    }
}

/// Aligned columns for terminals, as `psql` prints them; long values are cut with `…`.
public enum TextTable {
    public static let maximumWidth = 40

    public static func render(header: [String]?, rows: [[String]], counting noun: String? = nil) -> String {
        let cells = rows.map { $0.map(cut) }
        let all = (header.map { [$0] } ?? []) + cells
        guard let columns = all.map(\.count).max() else { return "" }
        var widths = Array(repeating: 0, count: columns)
        for row in all {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ row: [String]) -> String {
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ") + "\n"
        }
        var output = ""
        if let header {
            output += line(header)
            output += line(widths.map { String(repeating: "-", count: $0) })
        }
        for row in cells { output += line(row) }
        if let noun { output += "(\(rows.count) \(noun)\(rows.count == 1 ? "" : "s"))\n" }
        return output
    }

    static func cut(_ text: String) -> String {
        let flat =
            text.contains("\n")
            ? text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "⏎") : text
        return flat.count > maximumWidth ? String(flat.prefix(maximumWidth - 1)) + "…" : flat
    }
}
