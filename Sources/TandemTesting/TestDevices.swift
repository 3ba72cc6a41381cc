import Foundation
public import TandemProtocol
public import TandemServer

/// Device keys for tests that make changes by hand: every change a test pushes must be signed
/// by a device registered for its author's organisation (SPEC §8), as a replica's would be.
///
/// A test's device name (`"device-1"`) and the token or principal pushing it make one device,
/// registered on first use (registering again is harmless) and signing every change it makes.
///
/// ```swift
/// let signed = try await TestDevices.shared.sign(changes, for: principal, in: store, now: now)
/// _ = try await store.push(signed, by: principal, now: now)  // with the openings it made
/// ```
public final class TestDevices: @unchecked Sendable {
    public static let shared = TestDevices()

    private var keys: [String: SigningKey] = [:]
    /// The openings of every personal value a test device sealed (SPEC §8).
    private var openings = Openings()
    private let lock = NSLock()

    public init() {}

    /// The key of a device id, made on first use.
    public func key(for device: String) -> SigningKey {
        lock.withLock {
            if let key = keys[device] { return key }
            let key = SigningKey()
            keys[device] = key
            return key
        }
    }

    /// The registered device id standing for `device` used by the holder of `identity` (a
    /// token id, or a token): valid for ``DeviceRegistry/isValidDeviceID(_:)``.
    public static func deviceID(_ device: String, identity: String) -> String {
        let safe = (device + "-" + Digest.sha256Hex(Array(identity.utf8)).prefix(16)).map { character in
            character.isASCII && (character.isLetter || character.isNumber || character == "-" || character == "_")
                ? character : "_"
        }
        return String(String(safe).prefix(128))
    }

    /// `change` moved to the registered device `device`, its personal values (those of the
    /// bundled schema's personal tables) sealed as a replica seals them, and signed by its key.
    /// The openings are kept for ``openings(of:)``.
    public func signed(_ change: Change, as device: String) -> Change {
        var change = change
        change.device = device
        let key = key(for: device)
        let (sealed, made) = change.sealed(
            personal: Schema.partnership.personalFields(of: change.table), salts: SaltKey(key))
        lock.withLock { openings.formUnion(Openings(made)) }
        return sealed.signed(with: key)
    }

    /// The openings of the commitments `changes` hold that a test device made.
    public func openings(of changes: [Change]) -> Openings {
        let commitments = changes.flatMap { $0.fields.values.compactMap(Commitment.hex(in:)) }
        return lock.withLock { openings.restricted(to: commitments) }
    }

    /// The changes moved to registered devices and signed: each device a change names, used by
    /// the holder of `identity`, is registered once through `register(device, publicKey)`.
    /// Changes naming device `server` are left as they are.
    public func sign(
        _ changes: [Change], identity: String, register: (_ device: String, _ publicKey: String) async throws -> Void
    ) async throws -> [Change] {
        var registered: Set<String> = []
        var signed: [Change] = []
        for change in changes {
            guard change.device != DeviceRegistry.serverDevice else {
                signed.append(change)
                continue
            }
            let device = Self.deviceID(change.device, identity: identity)
            if registered.insert(device).inserted { try await register(device, key(for: device).publicKey) }
            signed.append(self.signed(change, as: device))
        }
        return signed
    }

    /// ``sign(_:identity:register:)`` registering in `store` for `principal`. Auditors cannot
    /// register: their changes stay unregistered (and are refused `signature`).
    public func sign(_ changes: [Change], for principal: Principal, in store: any ServerStore, now: Int64)
        async throws -> [Change]
    {
        try await sign(changes, identity: principal.tokenID) { device, publicKey in
            guard principal.role == .member || principal.role == .coordinator else { return }
            _ = try await store.registerDevice(device, publicKey: publicKey, by: principal, now: now)
        }
    }
}

extension ServerStore {
    /// Pushes `changes` as a replica would: from devices registered for `principal`, signed
    /// (``TestDevices``).
    public func pushSigned(_ changes: [Change], by principal: Principal, now: Int64) async throws -> [PushResult] {
        try await push(
            TestDevices.shared.sign(changes, for: principal, in: self, now: now), by: principal, now: now)
    }
}

extension ServerStore {
    /// A push of changes signed by ``TestDevices/shared`` (or by hand), carrying no device and
    /// the openings of the personal values the test devices sealed.
    public func push(_ changes: [Change], by principal: Principal, now: Int64) async throws -> [PushResult] {
        try await push(
            changes, carrying: [], values: TestDevices.shared.openings(of: changes), by: principal, now: now)
    }

    /// ``push(_:by:now:)`` carrying `carried` device registrations.
    public func push(_ changes: [Change], carrying carried: [CarriedDevice], by principal: Principal, now: Int64)
        async throws -> [PushResult]
    {
        try await push(
            changes, carrying: carried, values: TestDevices.shared.openings(of: changes), by: principal, now: now)
    }
}
