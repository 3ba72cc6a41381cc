import Foundation
public import TandemProtocol

/// Work a store runs inside one write transaction (``PushBatch`` and the changes the server
/// makes itself): it starts from the head of the history, asks for facts until it needs no
/// more, and leaves ``writes`` for the store to write in the same transaction.
///
/// A store drives it like this, with its own fetching and writing:
///
/// ```swift
/// var request = try work.start(at: head)
/// while let asked = request { request = try work.advance(with: facts(for: asked)) }
/// try write(work.writes)
/// ```
public protocol StoreWork: Sendable {
    mutating func start(at head: LogHead) throws -> FactRequest?
    mutating func advance(with facts: Facts) throws -> FactRequest?
    var writes: BatchWrites { get }
}

/// A device the server knows (SPEC §8): the organisation and role it was registered for, and its
/// key — what a push's signatures are checked against.
public struct KnownDevice: Hashable, Sendable {
    public var organisation: String?
    public var role: Role
    public var publicKey: String

    public init(organisation: String?, role: Role, publicKey: String) {
        self.organisation = organisation
        self.role = role
        self.publicKey = publicKey
    }
}

/// The server's rules that sit above any store: what a push is judged as before its write
/// transaction.
public enum ServerCore {
    /// How often (in entries) the store signs and keeps its head on its own.
    public static let checkpointInterval: Int64 = 1000

    /// The most rollback reports kept (each distinct checkpoint presented once); beyond it,
    /// reports are still logged but not kept, so that presenting cannot fill the store.
    public static let maximumRollbackReports = 1000

    /// How many entries (or records) `verify` reads at a time.
    static let verificationPage = 4096

    /// How many records `GET /v1/digest` reads at a time.
    public static let digestPage = 10_000

    /// Below this many changes a batch's signatures are checked on one thread.
    static let parallelVerification = 64

    /// The changes of a push as the merge will judge them: each as its device's organisation's
    /// when a coordinator carries it (``DeviceRegistry/author(pushedBy:registered:)``), and
    /// whether its device's registered key signed it — the device being registered for the
    /// author's organisation, or the server's own signed by `serverKey`. Signatures of a large
    /// batch are checked on every core.
    ///
    /// - Parameter registrations: the registered devices among the changes' (one read a batch).
    public static func receive(
        _ changes: [Change], by principal: Principal, registrations: [String: KnownDevice],
        serverKey: SigningKey
    ) -> [ReceivedChange] {
        @Sendable func judge(_ change: Change) -> ReceivedChange {
            let pusher = principal.author(device: change.device)
            let signing = change.signingBytes
            let canonical = change.canonicalBytes(signingBytes: signing)
            if change.device == DeviceRegistry.serverDevice {
                return ReceivedChange(
                    change: change, author: pusher,
                    isSigned: change.isSigned(by: serverKey.publicKey, signingBytes: signing), canonical: canonical)
            }
            let registered = registrations[change.device]
            let author = DeviceRegistry.author(
                pushedBy: pusher, registered: registered.map { ($0.organisation, $0.role) })
            guard let registered, registered.organisation == author.organisation else {
                return ReceivedChange(change: change, author: author, isSigned: false, canonical: canonical)
            }
            return ReceivedChange(
                change: change, author: author,
                isSigned: change.isSigned(by: registered.publicKey, signingBytes: signing), canonical: canonical)
        }
        guard changes.count >= parallelVerification else { return changes.map(judge) }
        let judged = UnsafeMutableBufferPointer<ReceivedChange?>.allocate(capacity: changes.count)
        judged.initialize(repeating: nil)
        defer { judged.deallocate() }
        let slices = min(changes.count, ProcessInfo.processInfo.activeProcessorCount * 4)
        let buffer = SendableBuffer(judged)
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
            var index = slice
            while index < changes.count {
                buffer.base[index] = judge(changes[index])
                index += slices
            }
        }
        return changes.indices.map { judged[$0] ?? judge(changes[$0]) }
    }
}

/// A buffer each concurrent slice writes distinct indexes of.
private struct SendableBuffer<Element>: @unchecked Sendable {
    let base: UnsafeMutableBufferPointer<Element>
    init(_ base: UnsafeMutableBufferPointer<Element>) { self.base = base }
}
