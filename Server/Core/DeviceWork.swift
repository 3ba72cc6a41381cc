public import TandemProtocol

/// Registering a device's key (`POST /v1/devices`, SPEC §8): a history entry the server makes and
/// signs (``DeviceRegistry/registration(device:publicKey:organisation:role:changeID:hlc:)``) and
/// the device's row, in one transaction. Registering the same device with the same key for the
/// same organisation again answers with the first registration; another key or organisation is
/// refused `device_exists`.
public struct DeviceWork: StoreWork {
    let device: String
    let publicKey: String
    let organisation: String?
    let role: Role
    let now: Int64
    let serverKey: SigningKey
    private var head = LogHead.empty
    public private(set) var writes = BatchWrites()
    /// The registration, once done (or found).
    public private(set) var registered: RegisteredDevice?

    public init(
        _ device: String, publicKey: String, organisation: String?, role: Role, now: Int64, serverKey: SigningKey
    ) {
        self.device = device
        self.publicKey = publicKey
        self.organisation = organisation
        self.role = role
        self.now = now
        self.serverKey = serverKey
    }

    public mutating func start(at head: LogHead) throws -> FactRequest? {
        self.head = head
        var request = FactRequest()
        request.devices.insert(device)
        return request
    }

    public mutating func advance(with facts: Facts) throws -> FactRequest? {
        if case let .some(.some(existing)) = facts.devices[device] {
            guard existing.publicKey == publicKey, existing.organisation == organisation else {
                throw ServerError(.deviceExists, "device \(device) is already registered with another key")
            }
            registered = RegisteredDevice(
                device: device, publicKey: publicKey, organisation: organisation, seq: existing.seq)
            return nil
        }
        var chain = LogChain(head: head, serverKey: serverKey)
        registered = Self.register(
            device, publicKey: publicKey, organisation: organisation, role: role, now: now, chain: &chain,
            writes: &writes)
        return nil
    }

    /// Appends to `chain` the history entry registering `device` (a change the server makes and
    /// signs, ``DeviceRegistry/registration(device:publicKey:organisation:role:changeID:hlc:)``)
    /// and adds the device's row to `writes`.
    static func register(
        _ device: String, publicKey: String, organisation: String?, role: Role, now: Int64, chain: inout LogChain,
        writes: inout BatchWrites
    ) -> RegisteredDevice {
        let clock = HLC(milliseconds: now, counter: 0, device: DeviceRegistry.serverDevice)
        let change = DeviceRegistry.registration(
            device: device, publicKey: publicKey, organisation: organisation, role: role,
            changeID: UUIDv7Generator.id(at: clock), hlc: clock.description
        ).signed(with: chain.serverKey)
        let seq = chain.append(
            change, by: Author(organisation: organisation, role: role, device: DeviceRegistry.serverDevice),
            outcome: Outcome(status: .applied, version: 1, applied: change.fields.keys.sorted()), now: now,
            to: &writes)
        writes.devices.append(
            DeviceRow(id: device, organisation: organisation, role: role, publicKey: publicKey, seq: seq))
        return RegisteredDevice(device: device, publicKey: publicKey, organisation: organisation, seq: seq)
    }
}
