/// The lines of a bundle file, before gzip (docs/sync.md, Bundles): a header, the body (one
/// JSON text a line), and a trailer that closes and signs the whole.
///
/// ```text
/// {"format":"tandem-bundle","version":1,"kind":"changes","public_key":"…",…,"count":2}
/// {…}
/// {…}
/// {"count":2,"sha256":"…","signature":"…"}
/// ```
///
/// `sha256` is the lowercase hex SHA-256 of every byte before the trailer (the header and body
/// lines, each with its `\n`); `signature` is Ed25519, by the key the header names, over the
/// RFC 8785 bytes of `{"count", "sha256"}`. A file cut short has no trailer (or a wrong count), an
/// altered one no longer matches its `sha256`, and only the key's holder can sign another.
///
/// ```swift
/// let text = BundleFrame.seal(kind: .changes, header: members, body: lines, key: deviceKey)
/// let opened = try BundleFrame.open(text)  // throws when cut, altered, or not a bundle
/// opened.publicKey  // the key that signed it: the caller decides whether to trust it
/// ```
public struct BundleFrame: Sendable {
    /// What a bundle carries.
    public enum Kind: String, Sendable, CaseIterable {
        /// A replica's pending changes, signed by its device (`tandem bundle export FILE`).
        case changes
        /// What an organisation may see, signed by the server (`tandem bundle export FILE --for ORG`).
        case pull
    }

    /// The `format` member of every header.
    public static let format = "tandem-bundle"
    /// The newest version this code writes and reads: 2 is a file whose header carries `values`,
    /// the openings of the personal values its body commits to (SPEC §8); a file without them is
    /// still written as version 1, which a tandem from before personal data reads.
    public static let version = 2
    /// The header member holding the openings (``Openings``) of a version 2 file.
    public static let valuesMember = "values"

    public var kind: Kind
    /// The header's members (`format`, `version`, `kind`, `public_key`, `count` included).
    public var header: JSONValue
    /// The base64 Ed25519 public key that signed the file (the header's `public_key`).
    public var publicKey: String
    /// The body lines, each one JSON text (without its `\n`), in order, as the file holds them:
    /// the signature vouches for them, the caller reads them.
    public var body: [ArraySlice<UInt8>]

    /// The file's text: header, body, signed trailer, one line each.
    ///
    /// - Parameter header: the members beside `format`, `version`, `kind`, `public_key` and `count`.
    public static func seal(kind: Kind, header: [JSONMember], body: [[UInt8]], key: SigningKey) -> [UInt8] {
        let written = header.contains { $0.key == valuesMember } ? version : 1
        let members =
            [
                JSONMember("format", .string(format)), JSONMember("version", .int(Int64(written))),
                JSONMember("kind", .string(kind.rawValue)), JSONMember("public_key", .string(key.publicKey)),
            ] + header + [JSONMember("count", .int(Int64(body.count)))]
        var text = Array(JSONValue.object(members).serialized().utf8)
        text.append(UInt8(ascii: "\n"))
        for line in body {
            text += line
            text.append(UInt8(ascii: "\n"))
        }
        let sealed = seal(count: body.count, sha256: Digest.sha256Hex(text))
        let trailer = JSONValue.object([
            JSONMember("count", .int(Int64(body.count))), JSONMember("sha256", .string(sealed.sha256)),
            JSONMember("signature", .string(key.sign(sealed.bytes))),
        ])
        text += Array(trailer.serialized().utf8)
        text.append(UInt8(ascii: "\n"))
        return text
    }

    /// What the trailer's signature covers.
    private static func seal(count: Int, sha256: String) -> (sha256: String, bytes: [UInt8]) {
        let signed = JSONValue.object([
            JSONMember("count", .int(Int64(count))), JSONMember("sha256", .string(sha256)),
        ])
        return (sha256, signed.canonicalBytes())
    }

    /// Reads and checks a bundle's text: a header of this format and version, as many body lines
    /// as the header and trailer say, the trailer's digest of what precedes
    /// it, its signature by the header's key.
    ///
    /// - Throws: ``ProtocolError`` `invalidJSON` with one line saying what is wrong.
    public static func open(_ text: [UInt8]) throws(ProtocolError) -> BundleFrame {
        var lines = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        guard lines.last?.isEmpty == true else { throw failure("it is cut short (no end of line at its end)") }
        lines.removeLast()
        guard let first = lines.first, let header = try? JSONValue.parse(bytes: Array(first)),
            case .string(format)? = header["format"]
        else { throw failure("it is not a Tandem bundle") }
        guard case let .int(written)? = header["version"], (1...Int64(version)).contains(written) else {
            throw failure(
                "its version is \(header["version"]?.serialized() ?? "missing"); this tandem reads versions 1 to \(version)"
            )
        }
        guard case let .string(kindName)? = header["kind"], let kind = Kind(rawValue: kindName) else {
            throw failure("its kind is not one this tandem knows")
        }
        guard case let .string(publicKey)? = header["public_key"], Signature.isPublicKey(publicKey),
            case let .int(count)? = header["count"], count >= 0
        else { throw failure("its header is incomplete") }
        guard lines.count == count + 2, let last = lines.last,
            let trailer = try? JSONValue.parse(bytes: Array(last)),
            case .int(count)? = trailer["count"], case let .string(sha256)? = trailer["sha256"],
            case let .string(signature)? = trailer["signature"]
        else { throw failure("it is cut short or has lines added (the header says \(count) lines)") }
        let covered = text.count - last.count - 1
        guard Digest.sha256Hex(Array(text[..<covered])) == sha256 else {
            throw failure("it was altered (its SHA-256 does not match its trailer)")
        }
        guard Signature.isValid(signature, of: seal(count: Int(count), sha256: sha256).bytes, publicKey: publicKey)
        else { throw failure("its signature does not verify") }
        let body = Array(lines.dropFirst().dropLast())
        return BundleFrame(kind: kind, header: header, publicKey: publicKey, body: body)
    }

    private static func failure(_ reason: String) -> ProtocolError {
        ProtocolError(.invalidJSON, "not a bundle this tandem can import: \(reason)")
    }
}
