public import ArgumentParser
import Foundation
import TandemClient
import TandemProtocol

/// `--db PATH`: the replica, else `TANDEM_DB`, else `$XDG_DATA_HOME/tandem/replica.sqlite`
/// (`~/.local/share/tandem/replica.sqlite` when XDG_DATA_HOME is unset).
struct ReplicaOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The replica file (default: $TANDEM_DB, else $XDG_DATA_HOME/tandem/replica.sqlite).", valueName: "path"))
    var db: String?

    var path: String {
        let environment = ProcessInfo.processInfo.environment
        if let db, !db.isEmpty { return db }
        if let path = environment["TANDEM_DB"], !path.isEmpty { return path }
        let data =
            environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.local/share"
        return data + "/tandem/replica.sqlite"
    }

    func open() throws(ReplicaError) -> Replica { try Replica.open(at: path, clock: .commandLine) }
}

struct FormatOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: table, json or csv.")
    var format: OutputFormat = .table
}

extension OutputFormat: ExpressibleByArgument {}

extension AuditExportFormat: ExpressibleByArgument {}

/// Runs a command body, turning a `ReplicaError` into one line on stderr and its sysexits code.
func reporting(_ body: () throws(ReplicaError) -> Void) throws {
    do {
        try body()
    } catch {
        FileHandle.standardError.write(Data("tandem: \(error.message)\n".utf8))
        throw ExitCode(error.code.exitStatus)
    }
}

/// Writes one `tandem: …` line to stderr.
func warn(_ text: String) {
    FileHandle.standardError.write(Data("tandem: \(text)\n".utf8))
}

/// Writes to stdout.
func emit(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// What `add` (and `retry`) print: the record's id, or the record in `json` and `csv`.
func emitNew(_ record: Record, of table: TableSchema, as format: OutputFormat) {
    emit(format == .table ? record.id + "\n" : RecordFormat.render(record, of: table, as: format))
}

extension ReplicaError.Code {
    /// The sysexits code for each kind of failure (SPEC §3).
    var exitStatus: Int32 {
        switch self {
        case .usage: return 64
        case .invalidData: return 65
        case .notFound: return 66
        case .unavailable: return 69
        case .cannotCreate: return 73
        case .temporary: return 75
        case .notPermitted: return 77
        default: return 70
        }
    }
}

func parseAssignments(_ arguments: [String]) throws(ReplicaError) -> [Assignment] {
    var assignments: [Assignment] = []
    for argument in arguments { assignments.append(try Assignment(parsing: argument)) }
    return assignments
}

/// `--ca-file PATH`: certificate authorities to trust for an `https` server (a private CA),
/// stored in the replica so that later syncs use it.
struct CAFileOptions: ParsableArguments {
    @Option(
        name: .customLong("ca-file"),
        help: ArgumentHelp(
            "A PEM file of certificate authorities to trust for https (kept for later syncs).", valueName: "path"))
    var caFile: String?

    /// The file as an absolute path (so a later sync from another folder finds it), or nil.
    ///
    /// - Throws: `notFound` (66) when it is not a readable file.
    func resolved() throws(ReplicaError) -> String? {
        guard let caFile else { return nil }
        let path =
            caFile.hasPrefix("/")
            ? caFile : FileManager.default.currentDirectoryPath + "/" + caFile
        let url = URL(fileURLWithPath: path).standardizedFileURL
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), !isFolder.boolValue,
            FileManager.default.isReadableFile(atPath: url.path)
        else { throw ReplicaError(.notFound, "--ca-file \(caFile): no such file, or not readable") }
        return url.path
    }
}

extension SyncAPI.RetryPolicy {
    /// The CLI's: wait out a 429 (`Retry-After`, at most 30 s, 3 times), saying so on stderr.
    static var commandLine: SyncAPI.RetryPolicy {
        var policy = SyncAPI.RetryPolicy()
        policy.notice = { line in warn(line) }
        return policy
    }
}

extension ReplicaClock {
    /// The wall clock of every `tandem` command: the system's, shifted by `TANDEM_TEST_CLOCK_SHIFT`
    /// when that is set (`+20m`, `-20m`, `+3d`, `-1h`, `+90s`: a sign, a whole number, one of
    /// s, m, h, d). That variable is a **test seam**, read here and nowhere else: the end-to-end
    /// tests run the real binary on a wrong clock with it (libfaketime, the natural tool, leaves a
    /// Swift binary without its arguments; docs/sync.md). A value that does not read is 64.
    static let commandLine: ReplicaClock = {
        guard let text = ProcessInfo.processInfo.environment["TANDEM_TEST_CLOCK_SHIFT"], !text.isEmpty else {
            return .system
        }
        guard let shift = clockShift(text) else {
            warn("TANDEM_TEST_CLOCK_SHIFT: \"\(text)\" is not a shift such as +20m, -20m, +3d, -1h or +90s")
            exit(64)
        }
        return ReplicaClock { ReplicaClock.system.now() + shift }
    }()

    /// `+20m` → 1 200 000 (milliseconds); nil for anything else.
    static func clockShift(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]
        guard let sign = text.first, sign == "+" || sign == "-", let unit = text.last.flatMap({ units[$0] }),
            let amount = Int64(text.dropFirst().dropLast()), amount >= 0, amount <= 1_000_000
        else { return nil }
        return (sign == "-" ? -1 : 1) * amount * unit
    }
}
