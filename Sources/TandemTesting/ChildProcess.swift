public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process for the tests, started with `posix_spawn` — Foundation's `Process` with the
/// same surface the tests use (`executableURL`, `arguments`, `environment`,
/// `currentDirectoryURL`, `standardInput`/`Output`/`Error` as a `Pipe` or a `FileHandle`, `run`,
/// `waitUntilExit`, `terminationStatus`, `terminationReason`, `isRunning`, `terminate`).
///
/// Why not `Process`: on Linux its `run()` adds one close action for every descriptor number up
/// to the highest open one, and crashed now and then in CI (a SIGSEGV in `memcpy` under
/// `Process.run()`, 1,357 descriptors open while other tests opened and closed theirs). Here the
/// child closes every descriptor from 3 up in one action (`posix_spawn_file_actions_addclosefrom_np`,
/// glibc 2.34), whatever the parent holds. The child gets a process group of its own, as with `Process`.
///
/// ```swift
/// let child = ChildProcess()
/// child.executableURL = URL(fileURLWithPath: "/bin/echo")
/// child.arguments = ["hello"]
/// let out = Pipe()
/// child.standardOutput = out
/// try child.run()
/// let text = out.fileHandleForReading.readDataToEndOfFile()
/// child.waitUntilExit()   // child.terminationStatus == 0
/// ```
public final class ChildProcess: @unchecked Sendable {
    public var executableURL: URL?
    public var arguments: [String] = []
    /// The child's environment; the parent's when nil.
    public var environment: [String: String]?
    public var currentDirectoryURL: URL?
    /// A `Pipe` (the child reads its read end), a `FileHandle`, or nil for the parent's.
    public var standardInput: Any?
    /// A `Pipe` (the child writes its write end), a `FileHandle`, or nil for the parent's.
    public var standardOutput: Any?
    public var standardError: Any?

    private let lock = NSLock()
    private var pid: pid_t = 0
    private var status: Int32?

    public init() {}

    public var processIdentifier: Int32 { lock.withLock { pid } }

    /// Starts the child.
    ///
    /// - Throws: `POSIXError` when it cannot be started (no such executable, say).
    public func run() throws {
        guard let executableURL else { throw POSIXError(.ENOENT) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let streams = [(standardInput, STDIN_FILENO), (standardOutput, STDOUT_FILENO), (standardError, STDERR_FILENO)]
        for (stream, target) in streams {
            if let handle = stream as? FileHandle, handle === FileHandle.nullDevice {
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_RDWR, 0)
            } else if let descriptor = Self.descriptor(stream, reading: target == STDIN_FILENO) {
                posix_spawn_file_actions_adddup2(&actions, descriptor, target)
            }
        }
        if let directory = currentDirectoryURL?.path {
            guard Self.addChdir(&actions, directory) == 0 else { throw POSIXError(.ENOENT) }
        }
        guard Self.addCloseFrom(&actions, 3) == 0 else { throw POSIXError(.ENOSYS) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A group of its own; no signal blocked or ignored because this thread or process had it so.
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var every = sigset_t()
        sigfillset(&every)
        posix_spawnattr_setsigdefault(&attributes, &every)

        let argv = ([executableURL.path] + arguments).map { strdup($0) } + [nil]
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let envp = variables.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, executableURL.path, &actions, &attributes, argv, envp)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
        lock.withLock { pid = child }
        // The parent's copies of the child's ends, as `Process` does: a reader then sees the end
        // of a pipe when the child exits.
        (standardInput as? Pipe)?.fileHandleForReading.closeFile()
        (standardOutput as? Pipe)?.fileHandleForWriting.closeFile()
        (standardError as? Pipe)?.fileHandleForWriting.closeFile()
    }

    /// Waits for the child to exit.
    public func waitUntilExit() {
        let child = processIdentifier
        guard child > 0, lock.withLock({ status }) == nil else { return }
        var raw: Int32 = 0
        while waitpid(child, &raw, 0) == -1 {
            guard errno == EINTR else { return }
        }
        lock.withLock { status = raw }
    }

    /// Whether the child still runs (reaping it when it has exited).
    public var isRunning: Bool {
        let child = processIdentifier
        guard child > 0, lock.withLock({ status }) == nil else { return false }
        var raw: Int32 = 0
        guard waitpid(child, &raw, WNOHANG) == child else { return true }
        lock.withLock { status = raw }
        return false
    }

    /// The exit status, or the signal that ended it.
    public var terminationStatus: Int32 {
        let raw = lock.withLock { status } ?? 0
        return raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f
    }

    public var terminationReason: Process.TerminationReason {
        let raw = lock.withLock { status } ?? 0
        return raw & 0x7f == 0 ? .exit : .uncaughtSignal
    }

    /// Sends SIGTERM.
    public func terminate() {
        let child = processIdentifier
        if child > 0 { kill(child, SIGTERM) }
    }

    private static func descriptor(_ stream: Any?, reading: Bool) -> Int32? {
        switch stream {
        case let pipe as Pipe:
            reading ? pipe.fileHandleForReading.fileDescriptor : pipe.fileHandleForWriting.fileDescriptor
        case let handle as FileHandle: handle.fileDescriptor
        default: nil
        }
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias Chdir =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34) and `…_addchdir_np` (2.29): glibc's,
    /// but not in Swift's Glibc module.
    private static let addCloseFrom = unsafeBitCast(
        symbol("posix_spawn_file_actions_addclosefrom_np"), to: CloseFrom.self)
    private static let addChdir = unsafeBitCast(symbol("posix_spawn_file_actions_addchdir_np"), to: Chdir.self)

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer {
        guard let symbol = dlsym(nil, name) else { fatalError("this glibc has no \(name) (2.34 or later is needed)") }
        return symbol
    }
}
