import Foundation
public import TandemClient

/// A transport that loses messages: wrapped around another, it drops some requests before they
/// are sent and some answers after the server has handled the request (the change applied, the
/// answer lost), throwing `unavailable` as a cut connection would. Which ones is decided by a
/// seeded generator, so a failing run can be replayed from its seed.
///
/// ```swift
/// let faulty = FaultInjectingTransport(wrapping: loopback, seed: seed, dropRequests: 0.2, dropResponses: 0.2)
/// let engine = SyncEngine(replica: replica, transport: faulty)
/// _ = try? engine.sync()   // may fail half-way; running it again must converge
/// ```
public final class FaultInjectingTransport: SyncTransport, @unchecked Sendable {
    /// What happened to one request.
    public enum Fate: Hashable, Sendable {
        case delivered
        /// Dropped before the server saw it.
        case requestDropped
        /// The server handled it; its answer was lost.
        case responseDropped
    }

    public let base: any SyncTransport
    public let seed: UInt64
    /// The chance (0…1) that a request is dropped before it is sent.
    public var dropRequests: Double
    /// The chance (0…1) that an answer is dropped after the server handled the request.
    public var dropResponses: Double

    private let lock = NSLock()
    private var generator: SeededGenerator
    private var fates: [Fate] = []

    public init(wrapping base: any SyncTransport, seed: UInt64, dropRequests: Double = 0.1, dropResponses: Double = 0.1)
    {
        self.base = base
        self.seed = seed
        self.dropRequests = dropRequests
        self.dropResponses = dropResponses
        generator = SeededGenerator(seed: seed)
    }

    /// What happened to each request so far, in order.
    public var history: [Fate] { lock.withLock { fates } }

    /// Turns faults off (or on again), e.g. for a final sync that must succeed.
    public func setFaults(dropRequests: Double, dropResponses: Double) {
        lock.withLock {
            self.dropRequests = dropRequests
            self.dropResponses = dropResponses
        }
    }

    public func send(_ request: TransportRequest) throws -> TransportResponse {
        let (dropRequest, dropResponse) = lock.withLock {
            (generator.chance(dropRequests), generator.chance(dropResponses))
        }
        if dropRequest {
            record(.requestDropped)
            throw ReplicaError(.unavailable, "cannot reach the server: request dropped (fault injected, seed \(seed))")
        }
        let response = try base.send(request)
        if dropResponse {
            record(.responseDropped)
            throw ReplicaError(.unavailable, "cannot reach the server: answer dropped (fault injected, seed \(seed))")
        }
        record(.delivered)
        return response
    }

    private func record(_ fate: Fate) { lock.withLock { fates.append(fate) } }
}

/// A small, fast, seeded random number generator (SplitMix64): the same seed gives the same
/// numbers on every machine. Tests print their seed and take one from `TANDEM_SEED`.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A seed from `TANDEM_SEED` when set, else a random one.
    public static func seedFromEnvironment() -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["TANDEM_SEED"], let seed = UInt64(text) { return seed }
        return UInt64.random(in: 0...UInt64.max)
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// True with probability `probability`.
    public mutating func chance(_ probability: Double) -> Bool {
        guard probability > 0 else { return false }
        return Double(next() >> 11) / Double(1 << 53) < probability
    }
}
