public import TandemProtocol

/// Registering the devices a coordinator's push carries with a bundle (docs/sync.md, Bundles):
/// each registration the replica's bundle holds (``CarriedDevice``) becomes a history entry the
/// server makes and signs, as `POST /v1/devices` makes one, for the organisation the replica
/// works for, as a member's device — but only a device not registered yet, with a well-formed id
/// and key, for an organisation whose record the server holds live. Anything else is left
/// alone, and the device's changes are then judged as usual (`signature` when its key is not the
/// registered one). A coordinator vouches for the bundle it carries; a member's push never
/// registers another device (``StoreAdapter/push(_:carrying:by:now:)``).
public struct CarriedDevicesWork: StoreWork {
    let devices: [CarriedDevice]
    let organisationTable: String?
    let now: Int64
    let serverKey: SigningKey
    private var head = LogHead.empty
    public private(set) var writes = BatchWrites()
    /// The devices registered by this work.
    public private(set) var registered: [RegisteredDevice] = []

    public init(_ devices: [CarriedDevice], schema: Schema, now: Int64, serverKey: SigningKey) {
        var seen = Set<String>()
        self.devices = devices.filter { seen.insert($0.device).inserted }
        organisationTable = schema.tables.first(where: { $0.owners == ["id"] })?.name
        self.now = now
        self.serverKey = serverKey
    }

    public mutating func start(at head: LogHead) throws -> FactRequest? {
        self.head = head
        var request = FactRequest()
        for carried in devices {
            request.devices.insert(carried.device)
            request.records.insert(carried.organisation)
        }
        return request.isEmpty ? nil : request
    }

    public mutating func advance(with facts: Facts) throws -> FactRequest? {
        var chain = LogChain(head: head, serverKey: serverKey)
        for carried in devices where Self.mayRegister(carried, facts: facts, organisationTable: organisationTable) {
            registered.append(
                DeviceWork.register(
                    carried.device, publicKey: carried.publicKey, organisation: carried.organisation, role: .member,
                    now: now, chain: &chain, writes: &writes))
        }
        return nil
    }

    /// Whether `carried` is registered: a valid id and key, a device the store does not hold, an
    /// organisation the store holds live in the organisation table.
    static func mayRegister(_ carried: CarriedDevice, facts: Facts, organisationTable: String?) -> Bool {
        guard DeviceRegistry.isValidDeviceID(carried.device), Signature.isPublicKey(carried.publicKey),
            case .some(.none) = facts.devices[carried.device],
            case let .some(.some(organisation)) = facts.records[carried.organisation],
            organisation.table == organisationTable, !organisation.isDeleted
        else { return false }
        return true
    }
}
