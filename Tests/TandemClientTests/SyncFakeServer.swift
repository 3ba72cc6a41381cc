import Foundation
import TandemClient
import TandemProtocol

/// A small in-memory server for the sync engine's tests: it merges with the Protocol's pure
/// `Merge` and answers the endpoints the engine uses, with no visibility rules. Each replica
/// talks to it through `transport(as:)`; the author comes from there, as from a token.
///
/// As the real server (SPEC §8) it opens the commitments of personal values with the openings
/// pushed beside them (a plain personal value: 400 `plain_personal_value`; a commitment without
/// its opening: rejected `commitment:FIELD`), logs the changes as pushed, sends the openings
/// beside pull pages, and erases (`POST /v1/erase`, coordinators) by deleting them.
///
/// Like the real server it registers device keys (`POST /v1/devices`: 403 for an auditor, 400
/// for a bad body, 409 for a device held with another key or organisation) and rejects, with
/// reason `signature`, a change from an unregistered device, a device of another organisation,
/// or whose signature does not verify. Unlike it, registrations take no seq in `log`, which holds
/// the pushed changes only.
final class FakeServer: @unchecked Sendable {
    struct Entry {
        var seq: Int64
        var change: Change
        var author: Author
        var outcome: Outcome
        var time: String
    }

    let schema: Schema
    private let lock = NSLock()
    private(set) var records: [String: RecordState] = [:]
    private(set) var log: [Entry] = []
    private var results: [String: PushResult] = [:]
    private(set) var conflicts: [ConflictInfo] = []
    /// Every request received, as `METHOD /path`.
    private(set) var requests: [String] = []
    /// Answers to give instead of handling, by path (for error tests).
    var cannedStatus: [String: (Int, String)] = [:]
    /// Registered device keys, by device id.
    private(set) var devices: [String: (publicKey: String, organisation: String?)] = [:]
    /// The openings of the logged changes' commitments (an erasure deletes its record's).
    private(set) var openings = Openings()
    /// Every push body received, as sent.
    private(set) var pushBodies: [[UInt8]] = []

    init(schema: Schema = .partnership) { self.schema = schema }

    /// The server's clock: the wall clock (a test shifts the replica's clock, not this one).
    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    func transport(as author: Author) -> Transport { Transport(server: self, author: author) }

    struct Transport: SyncTransport {
        let server: FakeServer
        let author: Author

        func send(_ request: TransportRequest) throws -> TransportResponse {
            var response = server.lock.withLock { server.handle(request, by: author) }
            // As the real server: its clock on every answer (transports give header names in lowercase).
            response.headers[WireProtocol.serverTimeHeader.lowercased()] = String(FakeServer.now())
            return response
        }
    }

    /// The live records of a table as `[id: values]`.
    func live(_ table: String) -> [String: [String: JSONValue]] {
        lock.withLock {
            var result: [String: [String: JSONValue]] = [:]
            for state in records.values where state.table == table && !state.isDeleted {
                result[state.id] = state.values
            }
            return result
        }
    }

    // MARK: - Endpoints

    private func handle(_ request: TransportRequest, by author: Author) -> TransportResponse {
        requests.append("\(request.method.rawValue) \(request.path)")
        if let (status, code) = cannedStatus[request.path] {
            return answer(ErrorBody(error: ErrorCode(rawValue: code), message: "canned \(status)").json, status: status)
        }
        let query = Dictionary(request.query.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
        switch (request.method, request.path) {
        case (.get, "/v1/whoami"):
            return answer(WhoAmI(organisation: author.organisation, role: author.role).json)
        case (.get, "/v1/schema"):
            return TransportResponse(status: 200, body: schema.encoded())
        case (.post, "/v1/devices"):
            return register(request.body, by: author)
        case (.post, "/v1/push"):
            guard let json = try? JSONValue.parse(bytes: request.body), let push = try? PushRequest(json: json) else {
                return answer(ErrorBody(error: "bad_json", message: "malformed push").json, status: 400)
            }
            pushBodies.append(request.body)
            // A coordinator's push registers the devices of the bundles it carries (docs/sync.md).
            for carried in push.devices where author.role == .coordinator && devices[carried.device] == nil {
                devices[carried.device] = (carried.publicKey, carried.organisation)
            }
            for change in push.changes {
                if case .failure(.plain) = change.opened(push.values, personal: schema.personalFields(of: change.table))
                {
                    return answer(
                        ErrorBody(error: "plain_personal_value", message: "a personal value is not committed to").json,
                        status: 400)
                }
            }
            return answer(PushResponse(results: push.changes.map { apply($0, by: author, values: push.values) }).json)
        case (.post, "/v1/erase"):
            return erase(request.body, by: author)
        case (.get, "/v1/pull"):
            return answer(
                pull(since: Int64(query["since"] ?? "0") ?? 0, limit: Int(query["limit"] ?? "100") ?? 100).json)
        case (.get, "/v1/conflicts"):
            let all = query["all"] == "true"
            return answer(.array(conflicts.filter { all || $0.status == .open }.map(\.json)))
        case (.post, let path) where path.hasPrefix("/v1/conflicts/") && path.hasSuffix("/resolve"):
            let id = String(path.dropFirst("/v1/conflicts/".count).dropLast("/resolve".count))
            guard let json = try? JSONValue.parse(bytes: request.body), let resolution = try? Resolution(json: json)
            else { return answer(ErrorBody(error: "bad_json", message: "malformed").json, status: 400) }
            return resolve(id, resolution, by: author)
        default:
            return answer(ErrorBody(error: "not_found", message: "no such endpoint").json, status: 404)
        }
    }

    private func answer(_ json: JSONValue, status: Int = 200) -> TransportResponse {
        TransportResponse(status: status, body: Array(json.serialized().utf8))
    }

    private func register(_ body: [UInt8], by author: Author) -> TransportResponse {
        guard author.role != .auditor else {
            return answer(ErrorBody(error: "forbidden", message: "auditors do not push").json, status: 403)
        }
        guard let json = try? JSONValue.parse(bytes: body), case let .string(device)? = json["device"],
            case let .string(key)? = json["public_key"], DeviceRegistry.isValidDeviceID(device),
            Signature.isPublicKey(key)
        else { return answer(ErrorBody(error: "bad_request", message: "malformed registration").json, status: 400) }
        if let known = devices[device], known.publicKey != key || known.organisation != author.organisation {
            return answer(
                ErrorBody(error: "device_exists", message: "device \(device) is registered otherwise").json,
                status: 409)
        }
        devices[device] = (key, author.organisation)
        return answer(
            .object([
                JSONMember("device", .string(device)), JSONMember("public_key", .string(key)),
                JSONMember("organisation", author.organisation.map(JSONValue.string) ?? .null),
                JSONMember("seq", .int(Int64(devices.count))),
            ]))
    }

    /// Forgets every device registration, as a server whose store was replaced would.
    func forgetDevices() { lock.withLock { devices = [:] } }

    /// Whether the change comes, signed, from a device registered for the author's organisation.
    private func isSignatureValid(_ change: Change, by author: Author) -> Bool {
        guard let device = devices[change.device],
            device.organisation == author.organisation || author.role == .coordinator
        else { return false }
        return change.isSigned(by: device.publicKey)
    }

    private func apply(
        _ change: Change, by author: Author, isServer: Bool = false, values: Openings = Openings()
    ) -> PushResult {
        if let first = results[change.changeID] {
            return PushResult(
                changeID: first.changeID, status: .duplicate, seq: first.seq, version: first.version,
                reason: first.reason)
        }
        let now = Self.now()
        var merged: Merge.Result
        switch change.opened(values, personal: isServer ? [] : schema.personalFields(of: change.table)) {
        case .failure(.unopened(let field)), .failure(.plain(let field)):
            merged = .rejected(.commitment(field), version: records[change.recordID]?.version)
        case let .success(opened):
            merged =
                isServer || isSignatureValid(change, by: author)
                ? Merge(schema: schema).apply(
                    opened, by: Author(organisation: author.organisation, role: author.role, device: change.device),
                    to: records[change.recordID], now: now, context: RecordScan(schema: schema, records: records))
                : Merge.Result.rejected("signature", version: records[change.recordID]?.version)
            openings.formUnion(values.restricted(to: Self.commitments(of: change)))
        }
        if let state = merged.state { records[change.recordID] = state }
        let seq = Int64(log.count + 1)
        log.append(
            Entry(seq: seq, change: change, author: author, outcome: merged.outcome, time: "2026-05-04T10:00:00Z"))
        for conflict in merged.openConflicts {
            conflicts.append(
                ConflictInfo(
                    id: "c0de\(String(format: "%04d", conflicts.count))-0000-7000-8000-000000000000",
                    table: change.table, recordID: change.recordID, field: conflict.field, current: conflict.kept,
                    incoming: conflict.lost, status: .open))
        }
        let result = PushResult(
            changeID: change.changeID, status: merged.outcome.status, seq: seq, version: merged.outcome.version,
            reason: merged.outcome.reason)
        results[change.changeID] = result
        return result
    }

    private func pull(since: Int64, limit: Int) -> PullResponse {
        let page = log.filter { $0.seq > since }.prefix(limit)
        let items = page.map { entry -> PullItem in
            let state = records[entry.change.recordID]
            return PullItem(
                seq: entry.seq, table: entry.change.table, recordID: entry.change.recordID,
                version: state?.version ?? 0, isDeleted: state?.isDeleted ?? false,
                record: state.flatMap { $0.isDeleted ? nil : $0.values },
                entry: PullItem.Entry(
                    changeID: entry.change.changeID, time: entry.time, author: entry.author, op: entry.change.op,
                    fields: entry.change.fields, outcome: entry.outcome, hlc: entry.change.hlc))
        }
        let next = page.last?.seq ?? since
        return PullResponse(
            items: items, next: next, more: (log.last?.seq ?? 0) > next,
            values: openings.restricted(to: page.flatMap { Self.commitments(of: $0.change) }))
    }

    private static func commitments(of change: Change) -> [String] {
        Sealing.commitments(in: .object(change.fields.map { JSONMember($0, $1) }))
    }

    /// `POST /v1/erase`, as SPEC §8 has it: the record's personal fields become null, the openings
    /// of its commitments go, an entry made by the server is logged.
    private func erase(_ body: [UInt8], by author: Author) -> TransportResponse {
        func refuse(_ status: Int, _ code: ErrorCode) -> TransportResponse {
            answer(ErrorBody(error: code, message: code.rawValue).json, status: status)
        }
        guard author.role == .coordinator else { return refuse(403, "forbidden") }
        guard let json = try? JSONValue.parse(bytes: body), let request = try? EraseRequest(json: json) else {
            return refuse(400, "bad_request")
        }
        guard !schema.personalFields(of: request.table).isEmpty else { return refuse(422, "no_personal_data") }
        guard let state = records[request.recordID], state.table == request.table else {
            return refuse(404, "not_found")
        }
        if state.isErased { return refuse(409, "erased") }
        if state.isDeleted { return refuse(409, "deleted") }
        let change = Change(
            changeID: UUID().uuidString.lowercased(), table: request.table, recordID: request.recordID, op: .erase,
            fields: [:], baseVersion: state.version,
            hlc: HLC(milliseconds: Self.now(), counter: 0, device: DeviceRegistry.serverDevice).description,
            device: DeviceRegistry.serverDevice)
        let result = apply(change, by: author, isServer: true)
        guard let seq = result.seq, let version = result.version, result.status == .applied else {
            return refuse(409, ErrorCode(rawValue: result.reason?.rawValue ?? "rejected"))
        }
        let held = log.filter { $0.change.recordID == request.recordID }.flatMap { Self.commitments(of: $0.change) }
        openings = Openings(openings.byCommitment.filter { !held.contains($0.key) })
        conflicts.removeAll { $0.recordID == request.recordID }
        let applied = log.last?.outcome.applied ?? []
        return answer(EraseResponse(seq: seq, version: version, erased: applied, unerasable: 0).json)
    }

    private func resolve(_ id: String, _ resolution: Resolution, by author: Author) -> TransportResponse {
        guard let index = conflicts.firstIndex(where: { $0.id == id }) else {
            return answer(ErrorBody(error: "not_found", message: "no conflict \(id)").json, status: 404)
        }
        var conflict = conflicts[index]
        let value: JSONValue?
        switch resolution {
        case .keepCurrent: value = nil
        case .keepIncoming: value = conflict.incoming
        case let .value(chosen): value = chosen
        }
        if let value, let state = records[conflict.recordID] {
            let change = Change(
                changeID: UUID().uuidString.lowercased(), table: conflict.table, recordID: conflict.recordID,
                op: .update, fields: [conflict.field: value], baseVersion: state.version,
                hlc: HLC(milliseconds: Int64(Date().timeIntervalSince1970 * 1000), counter: 0, device: "server")
                    .description, device: "server")
            _ = apply(change, by: author, isServer: true)
            conflict.current = value
        }
        conflict.status = .resolved
        conflicts[index] = conflict
        return answer(conflict.json)
    }
}

/// A transport that loses the answer to the next request to `path` (after the server handled it).
final class LosingTransport: SyncTransport, @unchecked Sendable {
    let base: any SyncTransport
    private let lock = NSLock()
    private var losing: Set<String> = []

    init(_ base: any SyncTransport) { self.base = base }

    func loseNextAnswer(to path: String) { lock.withLock { _ = losing.insert(path) } }

    func send(_ request: TransportRequest) throws -> TransportResponse {
        let response = try base.send(request)
        if lock.withLock({ losing.remove(request.path) }) != nil {
            throw ReplicaError(.unavailable, "cannot reach the server: connection reset")
        }
        return response
    }
}
