public import Foundation

/// Starts child processes one at a time. Foundation's `Process.run()` on Linux lists the
/// parent's open descriptors (to close them in the child) and crashed, now and then, when
/// another test's launch opened or closed descriptors while it did (seen in CI: a SIGSEGV in
/// `memcpy` under `Process.run()` with 1,500 descriptors open). Launches are short; the children
/// still run side by side.
public enum ProcessLaunch {
    private static let lock = NSLock()

    public static func run(_ process: Process) throws {
        try lock.withLock { try process.run() }
    }
}
