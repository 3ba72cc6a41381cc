import GRDB
public import TandemProtocol

/// Where a replica syncs: the server's URL, the bearer token (kept in `tandem_meta`, in a file
/// readable by its owner only; never printed, never logged) and, for a server whose certificate
/// a private authority signed, that authority's PEM file.
public struct Remote: Hashable, Sendable {
    public var server: String
    public var token: String
    /// Certificate authorities to trust for `https` instead of the system's (an absolute path).
    public var caFile: String?

    public init(server: String, token: String, caFile: String? = nil) {
        self.server = server
        self.token = token
        self.caFile = caFile
    }

    /// How a ``CurlTransport`` reaches this server.
    public var transportConfiguration: CurlTransport.Configuration {
        var configuration = CurlTransport.Configuration()
        configuration.caFile = caFile
        return configuration
    }
}

/// Where and as whom a replica syncs (`tandem remote`): the server, the token, the certificate
/// authorities, and whether the device key is registered there; kept in `tandem_meta`.
///
/// ```swift
/// let remote = try replica.remote.required()
/// try replica.remote.setCAFile("/etc/tandem/ca.pem")
/// ```
public struct RemoteSettings: ReplicaPart {
    let replica: Replica

    /// The server and token this replica syncs with, or nil when it has none yet.
    public func current() throws(ReplicaError) -> Remote? {
        try read { db in
            let settings = try Setting.readAll(in: db)
            guard let server = settings[.server], let token = settings[.token] else { return nil }
            return Remote(server: server, token: token, caFile: settings[.caFile])
        }
    }

    /// The server and token, or a `usage` error telling how to set them.
    public func required() throws(ReplicaError) -> Remote {
        guard let remote = try current() else {
            throw ReplicaError(.usage, "this replica has no server; run `tandem remote URL --token TOKEN` first")
        }
        return remote
    }

    /// Sets or changes the server, the token, the certificate authorities (`remote.caFile`; nil
    /// forgets any set before) and who the token is (from `GET /v1/whoami`).
    ///
    /// When the server or the identity changes, what this replica has pulled may not be what the
    /// new server (or the new identity) would send: the cursor goes back to 0, so the next sync
    /// pulls everything again (pulling is idempotent, and pending edits are kept and rebased).
    /// A new token for the same server and identity keeps the cursor, and so does a first server
    /// for the identity an offline replica was made for (`init --org`).
    ///
    /// The device key's registration (``deviceRegisteredServer()``) is forgotten with a change of
    /// server or identity, so the next push registers it again, unless `isDeviceRegistered` says
    /// the caller has just registered it with this server for this identity.
    ///
    /// - Returns: whether the cursor was reset.
    @discardableResult
    public func set(
        _ remote: Remote, identity: WhoAmI, isDeviceRegistered: Bool = false
    ) throws(ReplicaError) -> Bool {
        try write { db in
            let settings = try Setting.readAll(in: db)
            // A replica that never had a server (`init --org`) has pulled only through incoming
            // bundles, which its first sync checks like any pulled checkpoint: it keeps its cursor.
            let isSame =
                (settings[.server] ?? remote.server) == remote.server
                && settings[.organisation] == identity.organisation && settings[.role] == identity.role.rawValue
            if isDeviceRegistered {
                try Setting.deviceRegistered.write(remote.server, in: db)
            } else if !isSame {
                try Setting.deviceRegistered.write(nil, in: db)
            }
            try Setting.server.write(remote.server, in: db)
            try Setting.token.write(remote.token, in: db)
            try Setting.caFile.write(remote.caFile, in: db)
            try Setting.organisation.write(identity.organisation, in: db)
            try Setting.role.write(identity.role.rawValue, in: db)
            // What the previous server acknowledged and signed says nothing of this one.
            if !isSame { try Replica.forgetServerHistory(in: db) }
            if !isSame && settings[.cursor] != nil {
                try Setting.cursor.write("0", in: db)
                return true
            }
            return false
        }
    }

    /// Sets the certificate authorities later syncs trust (`tandem sync --ca-file`); nil: the
    /// system's.
    public func setCAFile(_ path: String?) throws(ReplicaError) {
        try write { db in try Setting.caFile.write(path, in: db) }
    }

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

    /// Records the organisation this replica works for, as a member's replica (`tandem init
    /// --org`), so that its bundles carry its device's registration.
    ///
    /// - Throws: `usage` when `id` is not an organisation id (a UUID).
    public func setOrganisation(_ id: String) throws(ReplicaError) {
        guard Identifier.isUUID(id) else {
            throw ReplicaError(.usage, "--org: expected an organisation id (tandem-server org add prints it)")
        }
        try write { db in
            try Setting.organisation.write(id, in: db)
            try Setting.role.write(Role.member.rawValue, in: db)
        }
    }
}

extension Replica {
    /// The remote settings of this replica.
    public var remote: RemoteSettings { RemoteSettings(replica: self) }
}
