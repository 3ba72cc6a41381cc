// Bundles (issue 11): `tandem bundle export` of N pending changes and `tandem bundle import` of
// that file on another replica of the same organisation, as child processes — wall time, MB/s
// of the file, changes/s, bytes a change (gzip and plain), peak memory — beside two floors: the
// gzip of the same bytes alone, and an Ed25519 signature of each change alone (export signs
// every change, as a push would).

import Foundation
import TandemClient
import TandemCompression
import TandemProtocol
import TandemTesting

func runBundleBenchmark(options: Options, scratch: URL) throws {
    say("")
    var count = options.rows
    let source = scratch.appendingPathComponent("bundle-source.sqlite").path
    let setup = try Setup(path: source)
    let csv = scratch.appendingPathComponent("bundle.csv").path
    try Workload(rows: count, setup: setup).csv.write(toFile: csv, atomically: false, encoding: .utf8)
    var start = now()
    _ = try setup.replica.editor.importCSV(into: "exchange", from: csv)
    say(padded("5 \(grouped(count)) pending exchange inserts (setup)", 58) + figure(now() - start) + " ms")
    try setup.replica.remote.setOrganisation(setup.home)
    let carrier = scratch.appendingPathComponent("bundle-carrier.sqlite").path
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: carrier + suffix) }
    try Replica.create(at: carrier).remote.setOrganisation(setup.home)

    let tandem = BinaryRunner.binaryDirectory.appendingPathComponent("tandem").path
    let file = scratch.appendingPathComponent("bundle.tandem").path
    // The first export freezes the outbox (an insert's values copied into its change) as a push would.
    let first = measure(tandem, ["bundle", "export", file, "--db", source])
    if first.status != 0 { fail("tandem bundle export exited \(first.status)") }
    let export = measure(tandem, ["bundle", "export", file, "--db", source])
    if export.status != 0 { fail("tandem bundle export exited \(export.status)") }
    let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: file)))
    let plain = try Gzip.decompress(bytes, limit: 1 << 31)
    let imported = measure(tandem, ["bundle", "import", file, "--db", carrier])
    if imported.status != 0 { fail("tandem bundle import exited \(imported.status)") }
    let bundle = try ChangeBundle(file: bytes)
    count = bundle.changes.count  // the exchanges, and the four records they refer to
    let queued = try Replica.open(at: carrier).bundles.carriedCount()
    if queued != count { fail("queued \(queued) changes, expected \(count)") }

    // Floors: gzip of the same text, and signing each change (the bundle's changes, unsigned).
    start = now()
    _ = try Gzip.compress(plain)
    let gzip = now() - start
    let key = SigningKey()
    let changes = bundle.changes.map { change in
        var unsigned = change
        unsigned.signature = nil
        return unsigned
    }
    start = now()
    _ = changes.signed(with: key)
    let signing = now() - start

    let megabytes = Double(bytes.count) / 1_048_576
    func line(_ name: String, _ measured: Measured) -> String {
        padded(name, 58) + figure(measured.milliseconds) + " ms  ("
            + "\(String(format: "%.1f", megabytes / measured.milliseconds * 1000)) MB/s of file, "
            + "\(grouped(rate(count, milliseconds: measured.milliseconds))) changes/s, "
            + "peak RSS \(grouped(measured.maxRSSKiB / 1024)) MiB)"
    }
    say(
        "  bundle of \(grouped(count)) changes: \(grouped(bytes.count)) bytes gzip "
            + "(\(bytes.count / count) bytes a change), \(grouped(plain.count)) bytes of JSON lines "
            + "(\(plain.count / count) bytes a change)")
    say(line("5 tandem bundle export, first (freezes the outbox)", first))
    say(line("5 tandem bundle export, again (frozen)", export))
    say(line("5 tandem bundle import (check, queue)", imported))
    say(padded("  floor: gzip of the same JSON lines", 58) + figure(gzip) + " ms")
    say(
        padded("  floor: Ed25519-sign \(grouped(count)) changes, one core", 58) + figure(signing) + " ms  ("
            + "\(grouped(rate(count, milliseconds: signing))) changes/s)")
}
