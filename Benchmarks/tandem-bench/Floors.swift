// The floors the §7 figures are set against, measured in the same run: Ed25519 verification alone
// (swift-crypto, on one core and on every core), TandemProtocol's own signature check, and raw
// SQLite inserting rows with one prepared statement in one transaction.

import Crypto
import Dispatch
import Foundation
import GRDBSQLite
import TandemProtocol
import TandemTesting

/// One signature decoded in advance, so that the floor times Ed25519 and nothing else.
struct RawSignature: @unchecked Sendable {
    let signature: [UInt8]
    let message: [UInt8]
    let key: Curve25519.Signing.PublicKey

    /// nil when the texts are not a signature and a key in base64.
    init?(signature: String?, message: [UInt8], publicKey: String) {
        guard let signature, let bytes = Base64.decode(signature), let keyBytes = Base64.decode(publicKey),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes)
        else { return nil }
        self.signature = bytes
        self.message = message
        self.key = key
    }

    /// The signature `change` carries, as `publicKey` is to check it.
    init?(_ change: Change, publicKey: String) {
        self.init(signature: change.signature, message: change.signingBytes, publicKey: publicKey)
    }

    func verify() -> Bool { key.isValidSignature(signature, for: message) }
}

/// Ed25519 verifications a second with swift-crypto (BoringSSL), the same signatures checked on
/// one core, then on every core at once (one slice a core, `DispatchQueue.concurrentPerform`).
struct Ed25519Floor {
    var count: Int
    var oneCore: Double
    var allCores: Double
    var cores: Int

    static func measure(_ checks: [RawSignature]) -> Ed25519Floor {
        precondition(!checks.isEmpty)
        for check in checks.prefix(100) where !check.verify() { fail("a benchmark signature does not verify") }
        var start = now()
        for check in checks where !check.verify() { fail("a benchmark signature does not verify") }
        let one = now() - start
        let cores = ProcessInfo.processInfo.activeProcessorCount
        start = now()
        DispatchQueue.concurrentPerform(iterations: cores) { part in
            for index in (part * checks.count / cores)..<((part + 1) * checks.count / cores)
            where !checks[index].verify() {
                fail("a benchmark signature does not verify")
            }
        }
        let all = now() - start
        return Ed25519Floor(
            count: checks.count, oneCore: Double(checks.count) / one * 1000,
            allCores: Double(checks.count) / all * 1000,
            cores: cores)
    }

    /// `Ed25519 floor (swift-crypto, N signatures): 1 core X/s, all 2 cores Y/s`.
    var line: String {
        "Ed25519 verification floor (swift-crypto, the same \(grouped(count)) signatures): "
            + "1 core \(grouped(Int(oneCore)))/s, all \(cores) cores \(grouped(Int(allCores)))/s"
    }
}

/// An SQLite database the raw floors write to: WAL, `synchronous = FULL` (as the store has it),
/// and the exchange table (the replica's DDL).
final class RawTable {
    private var db: OpaquePointer?
    private(set) var rows = 0
    static let columns = ["id", "round", "person", "home", "host", "starts_on", "ends_on", "status", "goals", "notes"]

    init(path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        guard sqlite3_open(path, &db) == SQLITE_OK else { fail("cannot open \(path)") }
        exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL")
        exec(
            "CREATE TABLE exchange (id TEXT PRIMARY KEY NOT NULL, round TEXT, person TEXT, home TEXT, host TEXT, starts_on TEXT, ends_on TEXT, status TEXT, goals TEXT, notes TEXT) STRICT"
        )
    }

    deinit { sqlite3_close(db) }

    private func exec(_ sql: String) {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { fail(String(cString: sqlite3_errmsg(db))) }
    }

    /// Inserts `count` rows (`row(i)`: the ten column values, nil for NULL) with one prepared
    /// statement in one transaction; returns the milliseconds it took, COMMIT included.
    @discardableResult
    func insert(count: Int, row: (Int) -> [String?]) -> Double {
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        var statement: OpaquePointer?
        let start = now()
        exec("BEGIN")
        sqlite3_prepare_v2(db, "INSERT INTO exchange VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &statement, nil)
        for index in 0..<count {
            for (offset, value) in row(index).enumerated() {
                if let value {
                    sqlite3_bind_text(statement, Int32(offset + 1), value, -1, transient)
                } else {
                    sqlite3_bind_null(statement, Int32(offset + 1))
                }
            }
            guard sqlite3_step(statement) == SQLITE_DONE else { fail(String(cString: sqlite3_errmsg(db))) }
            sqlite3_reset(statement)
        }
        sqlite3_finalize(statement)
        exec("COMMIT")
        rows += count
        return now() - start
    }

    /// The row an exchange insert change writes.
    static func row(of change: Change) -> [String?] {
        [change.recordID]
            + columns.dropFirst().map { name in
                switch change.fields[name] {
                case .string(let text)?: text
                case nil, .null?: nil
                case let value?: value.serialized()
                }
            }
    }
}

/// 100 random letters and spaces, as a note a coordinator writes.
func randomNote<R: RandomNumberGenerator>(using random: inout R) -> String {
    let letters = Array("abcdefghijklmnopqrstuvwxyz ".utf8)
    return String(decoding: (0..<100).map { _ in letters[Int(random.next() % UInt64(letters.count))] }, as: UTF8.self)
}

/// SplitMix64: cheap random bytes for notes (the system generator makes a system call a number).
struct FastRandom: RandomNumberGenerator {
    private var state: UInt64

    init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}

/// Rows for a raw floor made before its clock starts: ids made in advance, notes from a pool.
struct RawRows {
    let ids: [String]
    let notes: [String]
    let fixed: [String?]

    /// `fixed`: round, person, home, host (person is replaced from `persons` round the rows).
    init(count: Int, round: String, home: String, host: String, persons: [String]) {
        var generator = UUIDv7Generator()
        var random = FastRandom()
        let wall = Int64(Date().timeIntervalSince1970 * 1000)
        ids = (0..<count).map { generator.next(milliseconds: wall + Int64($0 / 200)) }
        notes = (0..<1024).map { _ in randomNote(using: &random) }
        fixed = [round, home, host]
        self.persons = persons
    }

    private let persons: [String]

    func row(_ index: Int) -> [String?] {
        [
            ids[index], fixed[0], persons[index % persons.count], fixed[1], fixed[2], "2026-05-04", "2026-05-08",
            "confirmed", nil, notes[index % notes.count],
        ]
    }
}
