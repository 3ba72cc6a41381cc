import Foundation
public import TandemProtocol

extension SyncEngine {
    /// Registers the replica's device key with its server (`POST /v1/devices`) unless it is
    /// registered there already, and remembers that it is. An auditor's replica never registers
    /// (it cannot push). Registering again is harmless, so an interrupted registration is simply
    /// repeated.
    ///
    /// - Returns: whether the server was asked.
    /// - Throws: `invalidData` (65) when the server has this device registered with another key
    ///   or for another organisation; the transport's and the server's errors.
    @discardableResult
    public func registerDevice() throws(ReplicaError) -> Bool {
        guard let server = try replica.remote.serverNeedingRegistration() else { return false }
        try api.registerDevice(replica.device, publicKey: try replica.devicePublicKey())
        try replica.remote.recordDeviceRegistration(server: server)
        return true
    }

    /// Sets or changes the replica's server (`tandem remote`): asks the server who the token is,
    /// registers the device key there unless the token is an auditor's (registering again is
    /// harmless, and is how a replica whose server lost its registration gets it back), then
    /// stores the server, the token and the identity. Nothing changes when any of it fails.
    ///
    /// - Returns: who the token is, and whether the next sync pulls everything again
    ///   (``RemoteSettings/set(_:identity:isDeviceRegistered:)``).
    public static func connect(
        _ replica: Replica, to remote: Remote, transport: any SyncTransport, retry: SyncAPI.RetryPolicy = .init()
    ) throws(ReplicaError) -> (identity: WhoAmI, isReset: Bool) {
        let api = SyncAPI(transport: transport, retry: retry)
        let identity = try api.whoAmI()
        let isRegistered = identity.role != .auditor
        if isRegistered { try api.registerDevice(replica.device, publicKey: try replica.devicePublicKey()) }
        let isReset = try replica.remote.set(remote, identity: identity, isDeviceRegistered: isRegistered)
        return (identity, isReset)
    }
}
