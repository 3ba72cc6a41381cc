import Foundation
import TandemTesting
import Testing

/// The tests' child processes: started without Foundation's `Process` (which crashed in CI with
/// many descriptors open), holding none of the parent's descriptors but the three they are given.
@Suite struct ChildProcessTests {
    @Test func aChildHoldsOnlyItsThreeStreamsAndReportsItsExit() throws {
        // Descriptors the parent holds open (not close-on-exec): the child must not inherit them.
        let held = Pipe()
        let child = ChildProcess()
        child.executableURL = URL(fileURLWithPath: "/bin/sh")
        child.arguments = ["-c", "ls /proc/$$/fd; echo oops >&2; exit 3"]
        let out = Pipe()
        let err = Pipe()
        child.standardOutput = out
        child.standardError = err
        child.standardInput = FileHandle.nullDevice
        try child.run()
        let listed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let said = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        let descriptors = Set(listed.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) })
        // The shell's own (0, 1, 2, and the one `ls` reads the folder with, if any): never the
        // parent's pipe.
        #expect(descriptors.isSuperset(of: [0, 1, 2]), "\(listed)")
        let parents = [held.fileHandleForReading.fileDescriptor, held.fileHandleForWriting.fileDescriptor]
        #expect(parents.allSatisfy { $0 <= 3 || !descriptors.contains($0) }, "\(listed)")
        #expect(descriptors.count <= 4, "the child inherited the parent's descriptors: \(listed)")
        #expect(said == "oops\n")
        #expect(child.terminationReason == .exit && child.terminationStatus == 3)
        #expect(!child.isRunning)
    }

    @Test func aSignalledChildSaysSo() throws {
        let child = ChildProcess()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["30"]
        try child.run()
        #expect(child.isRunning)
        child.terminate()
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal && child.terminationStatus == SIGTERM)
    }
}
