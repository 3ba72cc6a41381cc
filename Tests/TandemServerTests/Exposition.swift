/// The Prometheus text exposition format (0.0.4) read strictly enough for tests: `# TYPE` and
/// `# HELP` lines, and samples `name{label="value",…} value`. What does not read so is kept in
/// ``problems``.
struct Exposition {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double

        /// Whether the sample carries every label of `labels` with its value.
        func matches(_ labels: [String: String]) -> Bool {
            labels.allSatisfy { self.labels[$0.key] == $0.value }
        }
    }

    let text: String
    /// The type each `# TYPE` line names, by metric name.
    private(set) var types: [String: String] = [:]
    private(set) var samples: [Sample] = []
    /// Lines that are not exposition, and `# TYPE` lines that repeat a name or name no type.
    private(set) var problems: [String] = []

    static let knownTypes: Set<String> = ["counter", "gauge", "histogram", "summary", "untyped"]

    init(_ text: String) {
        self.text = text
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            if line.hasPrefix("#") {
                readComment(line)
            } else if let sample = Self.sample(line) {
                samples.append(sample)
            } else {
                problems.append("not a sample: \(line)")
            }
        }
        if !text.isEmpty, !text.hasSuffix("\n") { problems.append("the text does not end with a newline") }
    }

    /// The metric family a sample name belongs to: a histogram's `_bucket`, `_sum` and `_count`
    /// series belong to the histogram.
    func family(of name: String) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if types[base] == "histogram" || types[base] == "summary" { return base }
        }
        return name
    }

    /// The sum of the samples named `name` that carry `labels`; nil when there is none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples.filter { $0.name == name && $0.matches(labels) }
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }

    /// How much ``value(_:_:)`` grew since `before` (a series absent counts as 0).
    func delta(from before: Exposition, _ name: String, _ labels: [String: String] = [:]) -> Double {
        (value(name, labels) ?? 0) - (before.value(name, labels) ?? 0)
    }

    private mutating func readComment(_ line: Substring) {
        let words = line.split(separator: " ", maxSplits: 3)
        guard words.count >= 3, words[0] == "#", words[1] == "TYPE" else { return }
        let name = String(words[2])
        let type = words.count == 4 ? String(words[3]) : ""
        if !Self.isMetricName(name) { problems.append("a bad name: \(line)") }
        if !Self.knownTypes.contains(type) { problems.append("an unknown type: \(line)") }
        if types[name] != nil { problems.append("a second TYPE line: \(line)") }
        types[name] = type
    }

    private static func isMetricName(_ name: some StringProtocol) -> Bool {
        guard let first = name.first, first.isLetter || first == "_" || first == ":" else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" || $0 == ":" }
    }

    /// `name{labels} value [timestamp]`, or nil.
    private static func sample(_ line: Substring) -> Sample? {
        var rest = line[...]
        let name = rest.prefix { $0 != "{" && $0 != " " }
        guard isMetricName(name) else { return nil }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let label = rest.prefix { $0 != "=" }
                guard isMetricName(label), !label.contains(":") else { return nil }
                rest = rest.dropFirst(label.count)
                guard rest.hasPrefix("=\"") else { return nil }
                rest = rest.dropFirst(2)
                var value = ""
                while let character = rest.first, character != "\"" {
                    rest = rest.dropFirst()
                    guard character == "\\" else {
                        value.append(character)
                        continue
                    }
                    guard let escaped = rest.popFirst(), "\\\"n".contains(escaped) else { return nil }
                    value.append(escaped == "n" ? "\n" : escaped)
                }
                guard rest.popFirst() == "\"", labels.updateValue(value, forKey: String(label)) == nil else {
                    return nil
                }
                if rest.first == "," { rest = rest.dropFirst() }
            }
            rest = rest.dropFirst()
        }
        let fields = rest.split(separator: " ")
        guard rest.first == " ", (1...2).contains(fields.count), let value = number(fields[0]) else { return nil }
        return Sample(name: String(name), labels: labels, value: value)
    }

    private static func number(_ text: Substring) -> Double? {
        switch text {
        case "+Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        default: Double(text)
        }
    }
}
