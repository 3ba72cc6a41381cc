import Foundation

/// The server's sense of time: milliseconds since the epoch, the `now` every store call takes.
///
/// `buildApplication` takes a clock so that tests can pin time (HLCs too far ahead are refused
/// against it); the executable passes ``wall``.
///
/// ```swift
/// let app = buildApplication(configuration: configuration, store: store, logger: logger, clock: { 1_763_812_345_678 })
/// ```
public enum ServerClock {
    /// The wall clock.
    public static let wall: @Sendable () -> Int64 = {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}
