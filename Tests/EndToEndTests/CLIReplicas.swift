import TandemTesting
import Testing

/// Replicas made with `tandem init --server` against a real `tandem-server` process, each a file
/// in `folder`, and `tandem` run on them.
struct CLIReplicas {
    let folder: TemporaryDirectory
    let server: ServerProcess

    /// Makes the replica `name` for `token`; returns its path.
    func make(_ name: String, token: String) throws -> String {
        let db = folder.path("\(name).sqlite")
        let made = try BinaryRunner.run("tandem", ["init", "--server", server.url, "--token", token, "--db", db])
        #expect(made.status == 0, "\(made)")
        return db
    }

    /// Runs `tandem ARGUMENTS --db DB`.
    func run(_ db: String, _ arguments: [String]) throws -> ProcessResult {
        try BinaryRunner.run("tandem", arguments + ["--db", db])
    }
}
