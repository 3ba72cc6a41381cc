/// A wrong clock for one `tandem` process: the CLI's test seam `TANDEM_TEST_CLOCK_SHIFT` (read in
/// one place, `ReplicaClock.commandLine` in Sources/tandem/Options.swift), so that the real binary
/// runs as on a laptop whose clock is off while the test and the server keep the right time.
///
/// libfaketime (Debian's `faketime` 0.9.10, `LD_PRELOAD=…/libfaketime.so.1 FAKETIME=+20m`) was the
/// first choice; under it a Swift program starts without its arguments (`CommandLine.arguments`
/// is `[]`, with or without `-static-stdlib`; `tandem --version` prints the overview), so the
/// shift is injected instead.
///
/// ```swift
/// let result = try BinaryRunner.run("tandem", ["sync", "--db", db], environment: FakeTime.environment("+20m"))
/// ```
public enum FakeTime {
    /// The environment that shifts a `tandem` process's wall clock by `shift`: a sign, a whole
    /// number and a unit (`+20m`, `-20m`, `+3d`, `-1h`, `+90s`).
    public static func environment(_ shift: String) -> [String: String] {
        ["TANDEM_TEST_CLOCK_SHIFT": shift]
    }
}
