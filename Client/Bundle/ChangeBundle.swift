import Foundation
import TandemCompression
public import TandemProtocol

/// A replica's pending changes on their way to the server through another replica
/// (`tandem bundle export FILE` / `tandem bundle import FILE`; docs/sync.md, Bundles): each
/// change signed by its device exactly as a push would send it, and the device's public key and
/// organisation, in one gzip file of JSON lines (``BundleFrame``, kind `changes`) that the device
/// signs as a whole.
///
/// ```swift
/// let bytes = try bundle.file(signedWith: key)       // what `bundle export` writes
/// let read = try ChangeBundle(file: bytes)           // what `bundle import` checks and queues
/// ```
public struct ChangeBundle: Hashable, Sendable {
    /// The device whose changes these are.
    public var device: String
    /// Its Ed25519 public key (base64).
    public var publicKey: String
    /// The organisation its replica works for (`tandem init --org`, or its token's), if known.
    public var organisation: String?
    /// When it was written (RFC 3339).
    public var created: String
    /// The changes, signed, in edit order (personal values committed to, SPEC §8).
    public var changes: [Change]
    /// The openings of the changes' commitments: the header's `values` (version 2 of the file).
    public var values: Openings

    public init(
        device: String, publicKey: String, organisation: String?, created: String, changes: [Change],
        values: Openings = Openings()
    ) {
        self.device = device
        self.publicKey = publicKey
        self.organisation = organisation
        self.created = created
        self.changes = changes
        self.values = values
    }

    /// The largest bundle read, uncompressed (1 GiB: some two million changes).
    static let maximumSize = 1 << 30

    /// The registration the server needs to judge the changes, when the organisation is known.
    public var registration: CarriedDevice? {
        organisation.map { CarriedDevice(device: device, publicKey: publicKey, organisation: $0) }
    }

    /// The file: gzip of the frame's lines, sealed with the device key.
    public func file(signedWith key: SigningKey) throws(ReplicaError) -> [UInt8] {
        var header = [
            JSONMember("device", .string(device)),
            JSONMember("organisation", organisation.map(JSONValue.string) ?? .null),
            JSONMember("created", .string(created)),
        ]
        if !values.isEmpty { header.append(JSONMember(BundleFrame.valuesMember, values.json)) }
        let text = BundleFrame.seal(
            kind: .changes, header: header, body: changes.map { Array($0.json.serialized().utf8) }, key: key)
        do {
            return try Gzip.compress(text)
        } catch {
            throw ReplicaError(.internal, "could not compress the bundle")
        }
    }

    /// Reads a bundle file and checks it whole: gzip, the frame (cut, altered, signed by its
    /// device's key), the kind, and every change (its device the bundle's, and signed).
    ///
    /// - Throws: `invalidData` (65) with one line saying what is wrong.
    public init(file: [UInt8]) throws(ReplicaError) {
        try self.init(frame: try Self.frame(of: file, kind: .changes))
    }

    /// The bundle a checked frame of kind `changes` holds.
    init(frame: BundleFrame) throws(ReplicaError) {
        guard case let .string(device)? = frame.header["device"], case let .string(created)? = frame.header["created"]
        else { throw ReplicaError(.invalidData, "not a bundle this tandem can import: its header is incomplete") }
        var organisation: String?
        if case let .string(text)? = frame.header["organisation"] { organisation = text }
        var values = Openings()
        if let json = frame.header[BundleFrame.valuesMember], json != .null {
            do {
                values = try Openings(json: json)
            } catch {
                throw ReplicaError(.invalidData, "not a bundle this tandem can import: \(error.message)")
            }
        }
        var changes: [Change] = []
        changes.reserveCapacity(frame.body.count)
        for (index, line) in frame.body.enumerated() {
            let change: Change
            do {
                change = try Change(json: JSONValue.parse(bytes: Array(line)), path: "line \(index + 2)")
            } catch {
                throw ReplicaError(.invalidData, "not a bundle this tandem can import: \(error.message)")
            }
            // The file's signature covers every line; the server checks each change's own.
            guard change.device == device, change.signature != nil else {
                throw ReplicaError(
                    .invalidData,
                    "not a bundle this tandem can import: change \(change.changeID) is not signed by device \(device)")
            }
            changes.append(change)
        }
        self.init(
            device: device, publicKey: frame.publicKey, organisation: organisation, created: created, changes: changes,
            values: values)
    }

    /// The checked frame of a bundle file of `kind` (any kind when nil).
    static func frame(of file: [UInt8], kind: BundleFrame.Kind?) throws(ReplicaError) -> BundleFrame {
        let text: [UInt8]
        do {
            text = try Gzip.decompress(file, limit: maximumSize)
        } catch .tooLarge {
            throw ReplicaError(.invalidData, "not a bundle this tandem can import: over \(maximumSize >> 20) MiB")
        } catch {
            throw ReplicaError(.invalidData, "not a bundle this tandem can import: it is not gzip, or it is cut short")
        }
        let frame: BundleFrame
        do {
            frame = try BundleFrame.open(text)
        } catch {
            throw ReplicaError(.invalidData, error.message)
        }
        guard let kind, frame.kind != kind else { return frame }
        throw ReplicaError(.invalidData, "this is a bundle of kind \(frame.kind.rawValue); expected \(kind.rawValue)")
    }
}

/// Reading and writing bundle files (`tandem bundle export/import`).
public enum BundleFile {
    /// The bytes of the file at `path`.
    ///
    /// - Throws: `notFound` (66) when there is no such file or it cannot be read.
    public static func read(_ path: String) throws(ReplicaError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw ReplicaError(.notFound, "\(path): \(exists ? "cannot read it" : "no such file")")
        }
        return Array(data)
    }

    /// Writes `bytes` to `path` whole (a temporary file renamed into place: never half a bundle).
    ///
    /// - Throws: `cannotCreate` (73) when it cannot be written.
    public static func write(_ bytes: [UInt8], to path: String) throws(ReplicaError) {
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ReplicaError(.cannotCreate, "\(path): cannot write it (\(error.localizedDescription))")
        }
    }
}
