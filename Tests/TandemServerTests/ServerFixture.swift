import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import TandemCompression
import TandemProtocol
import TandemServer
import TandemTesting

/// A SQLite store in a temporary folder, its first coordinator token, and the application built
/// on it with a pinned clock.
struct ServerFixture: Sendable {
    static let now: Int64 = 1_763_812_345_678

    let folder: TemporaryDirectory
    let store: SQLiteServerStore
    let coordinator: String
    let configuration: ServerConfiguration

    init(maximumBodySize: Int = ServerConfiguration.defaultMaximumBodySize) throws {
        folder = try TemporaryDirectory(prefix: "tandem-server-test")
        let data = folder.path("data")
        (store, coordinator) = try SQLiteServerStore.create(directory: data, now: Self.now)
        configuration = ServerConfiguration(dataDirectory: data, port: 0, maximumBodySize: maximumBodySize)
    }

    func app() -> some ApplicationProtocol {
        buildApplication(configuration: configuration, store: store, logger: Self.quietLogger, clock: { Self.now })
    }

    static let quietLogger = Logger(label: "tandem-server-test") { _ in SwiftLogNoOpLogHandler() }

    /// A new organisation and its member token.
    func organisation(_ name: String, sector: String = "public") async throws -> (id: String, token: String) {
        try await store.addOrganisation(name: name, sector: sector, now: Self.now)
    }

    func token(_ role: Role, organisation: String? = nil) async throws -> String {
        try await store.issueToken(role: role, organisation: organisation, now: Self.now)
    }

    /// What `token` stands for.
    func principal(_ token: String) async throws -> Principal {
        guard let principal = try await store.authenticate(token: token) else {
            throw FixtureError(description: "the token is not known")
        }
        return principal
    }

    /// Registers, straight in the store, the device a test names `name` for the holder of
    /// `token` (the id ``TestClientProtocol/push(_:token:)`` registers over HTTP), and returns its id.
    @discardableResult
    func registerDevice(_ name: String, token: String) async throws -> String {
        let device = TestDevices.deviceID(name, identity: token)
        _ = try await store.registerDevice(
            device, publicKey: TestDevices.shared.key(for: device).publicKey, by: try await principal(token),
            now: Self.now)
        return device
    }

    /// `changes` as the holder of `token` would push them: each from its registered device, signed.
    func signed(_ changes: [Change], token: String) async throws -> [Change] {
        var signed: [Change] = []
        for change in changes {
            signed.append(TestDevices.shared.signed(change, as: try await registerDevice(change.device, token: token)))
        }
        return signed
    }
}

/// One conflict in the making: a coordinator's `setup` (a round, a person of `home`, their
/// exchange hosted by `host`, and its `starts_on` moved from version 1), then `home`'s `rival`
/// move of the same field from version 1, which opens a conflict when pushed with `home`'s token.
struct ExchangeConflict {
    let home: (id: String, token: String)
    let host: (id: String, token: String)
    let setup: [Change]
    let rival: Change

    init(_ fixture: ServerFixture) async throws {
        home = try await fixture.organisation("Ministry")
        host = try await fixture.organisation("Kovina", sector: "private")
        var coordinator = ChangeMaker(device: "coordinator-laptop")
        let round = coordinator.insert("round", ["number": .int(5)])
        let person = coordinator.insert(
            "person", ["organisation": .string(home.id), "full_name": .string("Ana Novak")])
        let exchange = coordinator.insert(
            "exchange",
            [
                "round": .string(round.recordID), "person": .string(person.recordID), "home": .string(home.id),
                "host": .string(host.id), "starts_on": .string("2026-05-04"), "ends_on": .string("2026-05-08"),
            ])
        let moved = coordinator.update("exchange", exchange.recordID, base: 1, ["starts_on": .string("2026-05-05")])
        setup = [round, person, exchange, moved]
        var ministry = ChangeMaker(device: "ministry-desktop")
        rival = ministry.update("exchange", exchange.recordID, base: 1, ["starts_on": .string("2026-05-06")])
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
}

/// What a test sees of a response: status, headers, and the body (gunzipped when it was gzip).
struct Reply: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: [UInt8]

    var json: JSONValue {
        get throws { try JSONValue.parse(bytes: body) }
    }

    /// The `error` code of an error body, nil when the body is not one.
    var errorCode: String? {
        guard let value = try? json, case let .string(code)? = value["error"], case .string? = value["message"]
        else { return nil }
        return code
    }

    /// The `message` of an error body, nil when the body is not one.
    var errorMessage: String? {
        guard errorCode != nil, case let .string(message)? = try? json["message"] else { return nil }
        return message
    }
}

extension TestClientProtocol {
    /// Sends a request with `token` as its bearer token and `body` as its bytes.
    func call(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, body: [UInt8]? = nil,
        headers: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = headers
        if let token { headers[.authorization] = "Bearer \(token)" }
        let response = try await execute(
            uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) })
        var bytes = Array(response.body.readableBytesView)
        if response.headers[.contentEncoding] == "gzip" { bytes = try Gzip.decompress(bytes, limit: 1 << 30) }
        return Reply(status: response.status, headers: response.headers, body: bytes)
    }

    func call(_ method: HTTPRequest.Method, _ uri: String, token: String?, json: JSONValue) async throws -> Reply {
        try await call(method, uri, token: token, body: Array(json.serialized().utf8))
    }

    /// Pushes `changes` as a replica would: registers each device a change names (`POST
    /// /v1/devices`, as ``TestDevices/deviceID(_:identity:)`` with the token) and signs the change
    /// with its key. Changes naming device `server` are sent as they are.
    func push(_ changes: [Change], token: String) async throws -> Reply {
        // A token that may not register (an auditor's) pushes from an unregistered device.
        let signed = try await TestDevices.shared.sign(changes, identity: token) { device, publicKey in
            _ = try await registerDevice(device, token: token, publicKey: publicKey)
        }
        return try await pushUnsigned(signed, token: token)
    }

    /// Pushes `changes` exactly as they are: no device is registered and nothing is signed
    /// (the openings of what test devices sealed go beside them).
    func pushUnsigned(_ changes: [Change], token: String) async throws -> Reply {
        try await call(
            .post, "/v1/push", token: token,
            json: PushRequest(changes: changes, values: TestDevices.shared.openings(of: changes)).json)
    }

    /// `POST /v1/devices` of `device` with its ``TestDevices`` key (or `publicKey`).
    func registerDevice(_ device: String, token: String, publicKey: String? = nil) async throws -> Reply {
        try await call(
            .post, "/v1/devices", token: token,
            json: .object([
                JSONMember("device", .string(device)),
                JSONMember("public_key", .string(publicKey ?? TestDevices.shared.key(for: device).publicKey)),
            ]))
    }
}

/// Makes changes with ids, HLCs (a minute before the fixture's clock, in order) and a device.
struct ChangeMaker {
    var device = "device-1"
    private var counter = 0

    init(device: String = "device-1") { self.device = device }

    mutating func insert(_ table: String, _ fields: [String: JSONValue]) -> Change {
        let clock = nextClock()
        return Change(
            changeID: UUIDv7Generator.id(at: clock), table: table, recordID: UUIDv7Generator.id(at: clock), op: .insert,
            fields: fields, baseVersion: 0, hlc: clock.description, device: device)
    }

    mutating func update(_ table: String, _ id: String, base: Int64, _ fields: [String: JSONValue]) -> Change {
        let clock = nextClock()
        return Change(
            changeID: UUIDv7Generator.id(at: clock), table: table, recordID: id, op: .update, fields: fields,
            baseVersion: base, hlc: clock.description, device: device)
    }

    private mutating func nextClock() -> HLC {
        counter += 1
        return HLC(milliseconds: ServerFixture.now - 60_000, counter: counter, device: device)
    }
}

/// A store whose every call fails with an error that is not a ``ServerError``, as a broken disk would.
struct FailingStore: ServerStore {
    struct Broken: Error {}

    var schema: Schema { .partnership }
    func currentSchema() async throws -> Schema { throw Broken() }
    func authenticate(token: String) async throws -> Principal? {
        token == "ok" ? Principal(tokenID: "t1", organisation: nil, role: .coordinator) : nil
    }
    func incomingBundle(for organisation: String, since: Int64, by principal: Principal, now: Int64)
        async throws -> [UInt8]
    { throw Broken() }
    func push(
        _ changes: [Change], carrying carried: [CarriedDevice], values: Openings, by principal: Principal, now: Int64
    ) async throws -> [PushResult] { throw Broken() }
    func pullPage(since: Int64, limit: Int, for principal: Principal) async throws -> RenderedPullPage {
        throw Broken()
    }
    func signedPullPage(_ caller: PullCaller, since: Int64, limit: Int, now: Int64) async throws -> SignedPullPage? {
        throw Broken()
    }
    func digests(for principal: Principal) async throws -> DigestResponse { throw Broken() }
    func conflicts(for principal: Principal, includeResolved: Bool) async throws -> [ConflictInfo] { throw Broken() }
    func resolve(conflict id: String, with resolution: Resolution, by principal: Principal, now: Int64) async throws
        -> ConflictInfo
    { throw Broken() }
    func addOrganisation(name: String, sector: String, now: Int64) async throws -> (id: String, token: String) {
        throw Broken()
    }
    func issueToken(role: Role, organisation: String?, now: Int64) async throws -> String { throw Broken() }
    func issueToken(role: Role, organisation: String?, seesPersonalValues: Bool, now: Int64) async throws -> String {
        throw Broken()
    }
    func revoke(token: String, now: Int64) async throws -> Bool { throw Broken() }
    func headSeq() async throws -> Int64 { throw Broken() }
    func openConflictCount() async throws -> Int { throw Broken() }
    var instanceCache: InstanceCacheStatus? { nil }
    func registerDevice(_ device: String, publicKey: String, by principal: Principal, now: Int64) async throws
        -> RegisteredDevice
    { throw Broken() }
    func history(since: Int64, limit: Int) async throws -> [HistoryLine] { throw Broken() }
    func history(since: Int64, limit: Int, for principal: Principal) async throws -> [HistoryLine] { throw Broken() }
    func erase(_ request: EraseRequest, by principal: Principal, now: Int64) async throws -> EraseResponse {
        throw Broken()
    }
    func checkpoint(now: Int64) async throws -> Checkpoint { throw Broken() }
    func checkpoint(at seq: Int64, presenting presented: Checkpoint?, by principal: Principal, now: Int64)
        async throws -> (checkpoint: Checkpoint, report: RollbackReport?)
    { throw Broken() }
    func verify() async throws -> HistoryVerification.Report { throw Broken() }
    func applySchema(_ proposed: Schema, now: Int64) async throws -> (schema: Schema, seq: Int64) { throw Broken() }
    func rollbackReports() async throws -> (head: Int64, reports: [RollbackReport]) { throw Broken() }
    func withdrawnGrants() async throws -> [WithdrawnGrant] { throw Broken() }
}

extension HistoryLine {
    /// The line read back as a history entry.
    var entry: LogEntry {
        get throws { try LogEntry(json: JSONValue.parse(line)) }
    }

    /// Whether the entry registers a device (what pull never returns).
    var isDeviceRegistration: Bool {
        get throws { try entry.change["table"] == .string(DeviceRegistry.table) }
    }
}
