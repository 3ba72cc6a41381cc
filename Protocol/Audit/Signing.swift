import Crypto

/// An Ed25519 key that signs: a replica's device key, or the server's.
///
/// ```swift
/// let key = SigningKey()
/// let signed = change.signed(with: key)
/// Signature.isValid(signed.signature!, of: change.signingBytes, publicKey: key.publicKey)  // true
/// ```
public struct SigningKey: Sendable {
    private let key: Curve25519.Signing.PrivateKey

    /// A new random key.
    public init() { key = Curve25519.Signing.PrivateKey() }

    /// A key kept as its base64 private bytes (``privateKeyBase64``).
    ///
    /// - Throws: ``ProtocolError`` (`invalidJSON`) when the text is not a 32-byte key in base64.
    public init(privateKeyBase64 text: String) throws(ProtocolError) {
        guard let bytes = Base64.decode(text), bytes.count == 32,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes)
        else { throw ProtocolError(.invalidJSON, "not an Ed25519 private key in base64") }
        self.key = key
    }

    /// The private key's 32 bytes in base64: what its owner stores (and nobody else sees).
    public var privateKeyBase64: String { Base64.encode(key.rawRepresentation) }

    /// The private key's 32 bytes: what keys derived from it (``SaltKey``) start from.
    var rawPrivateKey: [UInt8] { Array(key.rawRepresentation) }

    /// The public key's 32 bytes in base64: what is registered and published.
    public var publicKey: String { Base64.encode(key.publicKey.rawRepresentation) }

    /// The Ed25519 signature of `bytes`, in base64.
    public func sign(_ bytes: [UInt8]) -> String {
        // Signing a byte array cannot fail; swift-crypto's API throws for its other key kinds.
        Base64.encode((try? key.signature(for: bytes)).map { Array($0) } ?? [])
    }
}

/// Checking Ed25519 signatures given in base64.
public enum Signature {
    /// Whether `signature` (base64) is `publicKey`'s (base64) Ed25519 signature of `bytes`.
    /// Anything malformed is simply not valid.
    public static func isValid(_ signature: String, of bytes: [UInt8], publicKey: String) -> Bool {
        guard let signatureBytes = Base64.decode(signature), signatureBytes.count == 64,
            let keyBytes = Base64.decode(publicKey), keyBytes.count == 32,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes)
        else { return false }
        return key.isValidSignature(signatureBytes, for: bytes)
    }

    /// ``isValid(_:of:publicKey:)`` with the key decoded already (``publicKey(_:)``).
    static func isValid(_ signature: String, of bytes: [UInt8], key: Curve25519.Signing.PublicKey) -> Bool {
        guard let signatureBytes = Base64.decode(signature), signatureBytes.count == 64 else { return false }
        return key.isValidSignature(signatureBytes, for: bytes)
    }

    /// The Ed25519 public key of base64 text; nil when it is not one.
    static func publicKey(_ text: String) -> Curve25519.Signing.PublicKey? {
        guard let bytes = Base64.decode(text), bytes.count == 32 else { return nil }
        return try? Curve25519.Signing.PublicKey(rawRepresentation: bytes)
    }

    /// Whether `text` is a 32-byte Ed25519 public key in base64.
    public static func isPublicKey(_ text: String) -> Bool {
        guard let bytes = Base64.decode(text), bytes.count == 32 else { return false }
        return (try? Curve25519.Signing.PublicKey(rawRepresentation: bytes)) != nil
    }
}

/// Lowercase hex SHA-256.
public enum Digest {
    public static func sha256Hex(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

    /// `bytes` in lowercase hex.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(64)
        for byte in bytes {
            output.append(hexDigits[Int(byte >> 4)])
            output.append(hexDigits[Int(byte & 0xF)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Whether `hex` is the lowercase hex of `digest`.
    static func hexMatches(_ digest: SHA256.Digest, _ hex: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        guard hex.count == 64 else { return false }
        var index = hex.startIndex
        return digest.withUnsafeBytes { bytes in
            for byte in bytes {
                guard hex[index] == hexDigits[Int(byte >> 4)], hex[index + 1] == hexDigits[Int(byte & 0xF)] else {
                    return false
                }
                index += 2
            }
            return true
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The bytes of lowercase hex text of even length; nil for anything else.
    public static func bytes(hex text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(utf8.count / 2)
        func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            output.append(high << 4 | low)
            index += 2
        }
        return output
    }
}

extension Change {
    /// What the device signs (SPEC §5): the RFC 8785 bytes of the change's JSON without `signature`.
    public var signingBytes: [UInt8] {
        var unsigned = self
        unsigned.signature = nil
        return unsigned.json.canonicalBytes()
    }

    /// This change signed by `key`.
    public func signed(with key: SigningKey) -> Change {
        var signed = self
        signed.signature = key.sign(signingBytes)
        return signed
    }

    /// Whether the change carries a signature that `publicKey` made over its signing bytes
    /// (given when the caller has them already).
    public func isSigned(by publicKey: String, signingBytes: [UInt8]? = nil) -> Bool {
        guard let signature else { return false }
        return Signature.isValid(signature, of: signingBytes ?? self.signingBytes, publicKey: publicKey)
    }

    /// The RFC 8785 bytes of the change's JSON, signature included, made from its signing bytes
    /// (``signingBytes``) without writing the change again: the signature's member goes before
    /// `table`, the last one. So a server writes a change's bytes once, for its signature and its
    /// log line.
    public func canonicalBytes(signingBytes: [UInt8]) -> [UInt8] {
        guard let signature else { return signingBytes }
        var suffix = Array(#","table":"#.utf8)
        JSONValue.writeCanonicalString(table, to: &suffix)
        suffix.append(UInt8(ascii: "}"))
        guard signingBytes.count > suffix.count, signingBytes.suffix(suffix.count).elementsEqual(suffix) else {
            return json.canonicalBytes()
        }
        var bytes = Array(signingBytes.dropLast(suffix.count))
        bytes.reserveCapacity(signingBytes.count + signature.utf8.count + 16)
        bytes += Array(#","signature":"#.utf8)
        JSONValue.writeCanonicalString(signature, to: &bytes)
        return bytes + suffix
    }
}
