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

    /// The server URL the device key is registered with, for the replica's organisation; nil
    /// until it is (and again after `remote` names another server or identity).
    public func deviceRegisteredServer() throws(ReplicaError) -> String? {
        try read { db in try Setting.deviceRegistered.read(in: db) }
    }

    /// The server the device key must be registered with before this replica pushes: its
    /// server, unless the key is registered there already or the role is `auditor` (an auditor
    /// never pushes, and the server refuses to register its devices).
    func serverNeedingRegistration() throws(ReplicaError) -> String? {
        try read { db in
            let settings = try Setting.readAll(in: db)
            guard let server = settings[.server], settings[.role] != Role.auditor.rawValue,
                settings[.deviceRegistered] != server
            else { return nil }
            return server
        }
    }

    /// Notes that the device key is registered with `server` (if it is still the replica's server).
    func recordDeviceRegistration(server: String) throws(ReplicaError) {
        try write { db in
            guard try Setting.server.read(in: db) == server else { return }
            try Setting.deviceRegistered.write(server, in: db)
        }
    }

    /// Forgets that the device key is registered, so that the next push registers it again.
    func forgetDeviceRegistration() throws(ReplicaError) {
        try write { db in try Setting.deviceRegistered.write(nil, in: db) }
    }
}
