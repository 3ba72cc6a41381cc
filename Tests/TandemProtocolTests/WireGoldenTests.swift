import Foundation
import TandemProtocol
import TandemTesting
import Testing

/// Every message of the API (``WireSchemas/messages``) has one JSON form, pinned byte for byte by
/// a golden file under `Tests/TandemProtocolTests/Golden/NAME.json`: changing a message without
/// its golden file fails here, and so does a message without one. A deliberate change is made
/// with `TANDEM_UPDATE_GOLDEN=1 swift test --filter WireGoldenTests`, and reviewed in the diff.
@Suite struct WireGoldenTests {
    private static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden")

    private static let id = "0193a5d2-7c4e-7a10-8b2c-3d4e5f607182"
    private static let other = "0193a5d2-7c4e-7a10-8b2c-3d4e5f607183"
    private static let organisation = "0193a5d2-0000-7000-8000-000000000001"
    private static let hash = String(repeating: "ab", count: 32)
    private static let commitment = String(repeating: "c0", count: 32)
    private static let time = "2026-12-05T09:00:00.000Z"
    private static let hlc = "001764925200000.00000.dev-a"

    private static let change = Change(
        changeID: id, table: "person", recordID: other, op: .update,
        fields: ["full_name": .object([JSONMember("commitment", .string(commitment))]), "title": .null],
        baseVersion: 2, hlc: hlc, device: "dev-a", signature: "c2lnbmF0dXJl")
    private static let openings = Openings([
        commitment: Opening(salt: String(repeating: "5a", count: 16), value: .string("Ana Lima"))
    ])
    private static let checkpoint = Checkpoint(
        seq: 42, hash: hash, time: time, publicKey: "cHVibGlj", signature: "c2lnbmF0dXJl")

    /// One example of each message, in its JSON form, and that form read back and written again
    /// (so that a field the reader drops fails too).
    private static func examples() throws -> [String: (JSONValue, JSONValue)] {
        func pair(_ json: JSONValue, _ read: (JSONValue) throws -> JSONValue) throws -> (JSONValue, JSONValue) {
            (json, try read(json))
        }
        let entry = PullItem.Entry(
            change, author: Author(organisation: organisation, role: .member, device: "dev-a"), time: time,
            outcome: Outcome(
                status: .conflict, version: 3, applied: ["title"],
                conflicts: [FieldConflict(field: "full_name", rule: .lww, kept: .string("kept"), lost: .string("lost"))]
            ))
        let page = PullResponse(
            items: [
                PullItem(
                    seq: 41, table: "person", recordID: other, version: 3, isDeleted: false,
                    record: ["full_name": .string("Ana Lima"), "title": .null], entry: entry),
                PullItem(
                    seq: 42, table: "person", recordID: id, version: 1, isDeleted: false, record: nil, entry: nil,
                    isVisible: false),
            ],
            next: 42, more: true, checkpoint: checkpoint, schemaVersion: 2, values: openings)
        let digest = DigestResponse(tables: [try TableDigest(table: "person", records: 2, hex: hash)])
        return [
            WhoAmI.schemaName: try pair(WhoAmI(organisation: organisation, role: .member).json) {
                try WhoAmI(json: $0).json
            },
            PushRequest.schemaName: try pair(
                PushRequest(
                    changes: [change],
                    devices: [CarriedDevice(device: "dev-b", publicKey: "a2V5", organisation: organisation)],
                    values: openings
                ).json
            ) { try PushRequest(json: $0).json },
            PushResponse.schemaName: try pair(
                PushResponse(results: [
                    PushResult(changeID: id, status: .applied, seq: 7, version: 1, reason: nil),
                    PushResult(changeID: other, status: .rejected, seq: 8, version: 2, reason: .unique("email")),
                ]).json
            ) { try PushResponse(json: $0).json },
            PullResponse.schemaName: try pair(page.json) { try PullResponse(json: $0).json },
            ConflictInfo.schemaName: try pair(
                ConflictInfo(
                    id: id, table: "exchange", recordID: other, field: "ends_on", current: .string("2026-06-30"),
                    incoming: .string("2026-07-15"), status: .open
                ).json
            ) { try ConflictInfo(json: $0).json },
            Resolution.schemaName: try pair(Resolution.value(.string("2026-07-01")).json) {
                try Resolution(json: $0).json
            },
            DeviceRegistration.schemaName: try pair(DeviceRegistration(device: "dev-a", publicKey: "a2V5").json) {
                try DeviceRegistration(json: $0).json
            },
            RegisteredDevice.schemaName: try pair(
                RegisteredDevice(device: "dev-a", publicKey: "a2V5", organisation: organisation, seq: 12).json
            ) { try RegisteredDevice(json: $0).json },
            EraseRequest.schemaName: try pair(EraseRequest(table: "person", recordID: id).json) {
                try EraseRequest(json: $0).json
            },
            EraseResponse.schemaName: try pair(
                EraseResponse(seq: 90, version: 5, erased: ["email", "full_name"], unerasable: 0).json
            ) { try EraseResponse(json: $0).json },
            Checkpoint.schemaName: try pair(checkpoint.json) { try Checkpoint(json: $0).json },
            DigestResponse.schemaName: try pair(digest.json) { try DigestResponse(json: $0).json },
            ErrorBody.schemaName: try pair(ErrorBody(error: .deviceExists, message: "device dev-a is registered").json)
            {
                try ErrorBody(json: $0).json
            },
        ]
    }

    @Test func everyMessageMatchesItsGoldenFileByteForByte() throws {
        let examples = try Self.examples()
        let update = ProcessInfo.processInfo.environment["TANDEM_UPDATE_GOLDEN"] == "1"
        for message in WireSchemas.messages {
            let name = message.schemaName
            let (json, reread) = try #require(examples[name], "no example of \(name): add one, and its golden file")
            let text = json.serialized() + "\n"
            let file = Self.folder.appendingPathComponent("\(name).json")
            if update { try Data(text.utf8).write(to: file) }
            let golden = try #require(
                try? String(contentsOf: file, encoding: .utf8), "no golden file for \(name) (\(file.path))")
            #expect(text == golden, "\(name) changed: if on purpose, update its golden file")
            #expect(reread == json, "\(name) does not read back as written")
        }
    }

    @Test func everyGoldenFileIsAMessage() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter {
            $0.hasSuffix(".json")
        }
        #expect(Set(files) == Set(WireSchemas.messages.map { "\($0.schemaName).json" }))
    }

    @Test func everyMessageAnEndpointNamesHasASchema() {
        let names = Set(WireSchemas.all.map(\.name))
        for endpoint in Endpoint.all {
            for body in [endpoint.request, endpoint.response].compactMap({ $0 }) {
                switch body {
                case let .message(name), let .messages(name): #expect(names.contains(name), "\(endpoint.path): \(name)")
                case .ndjson, .other: break
                }
            }
        }
        for (name, schema) in WireSchemas.all {
            #expect((try? JSONValue.parse(schema)) != nil, "the schema of \(name) is not JSON")
        }
    }
}

/// The schema of a device registration states exactly what the server accepts: a key matches its
/// pattern if and only if it is an Ed25519 public key (32 bytes, canonical base64).
@Test func theDeviceRegistrationSchemaStatesWhichKeysAreAccepted() throws {
    let schema = try JSONValue.parse(DeviceRegistration.jsonSchema)
    guard case let .string(pattern)? = schema["properties"]?["public_key"]?["pattern"] else {
        Issue.record("no pattern for public_key")
        return
    }
    let regex = try Regex(pattern)
    let seed = SeededGenerator.seedFromEnvironment()
    print(
        "device key pattern seed \(seed) (replay: TANDEM_SEED=\(seed) swift test --filter theDeviceRegistrationSchema)")
    var generator = SeededGenerator(seed: seed)
    for _ in 0..<500 {
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let key = Base64.encode(bytes)
        #expect(Signature.isPublicKey(key), "\(key)")
        #expect(key.wholeMatch(of: regex) != nil, "\(key)")
        // The same key with its last character before the padding changed is not canonical, or
        // says other bytes: each side must agree about it.
        for replacement in ["B", "A", "/", "+"] {
            var altered = key
            altered.replaceSubrange(
                altered.index(altered.endIndex, offsetBy: -2)..<altered.index(before: altered.endIndex),
                with: replacement)
            #expect(Signature.isPublicKey(altered) == (altered.wholeMatch(of: regex) != nil), "\(altered)")
        }
    }
    for text in ["", "AAAA", String(repeating: "A", count: 44), String(repeating: "A", count: 43) + "="] {
        #expect(Signature.isPublicKey(text) == (text.wholeMatch(of: regex) != nil), "\(text)")
    }
}
