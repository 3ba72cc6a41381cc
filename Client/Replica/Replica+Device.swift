import GRDB
package import TandemProtocol

/// The replica's device key (SPEC §8): an Ed25519 key made with the replica (migration `v3`, which
/// also gives one to a replica made before keys existed), kept in `tandem_meta.device_key` in a
/// file only its owner can read. Every change pushed is signed with it, and the server checks the
/// signature against the public key registered with `POST /v1/devices`.
extension Replica {
    /// The device key.
    ///
    /// - Throws: `invalidData` when the stored key is damaged.
    package func deviceKey() throws(ReplicaError) -> SigningKey {
        do {
            return try SigningKey(privateKeyBase64: deviceKeyText)
        } catch {
            throw ReplicaError(
                .invalidData, "\(path ?? "the replica"): the device key in tandem_meta is damaged (\(error.message))")
        }
    }

    /// The device key's public half (32 bytes in base64): what the server registers.
    ///
    /// ```swift
    /// try replica.devicePublicKey()  // "q3v…=" (44 characters)
    /// ```
    public func devicePublicKey() throws(ReplicaError) -> String { try deviceKey().publicKey }
}
