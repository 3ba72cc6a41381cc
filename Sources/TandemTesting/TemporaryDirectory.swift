public import Foundation

/// A fresh folder under the system's temporary folder, removed when the value is released.
///
/// ```swift
/// let folder = try TemporaryDirectory()
/// let replica = try Replica.create(at: folder.path("replica.sqlite"))
/// ```
public final class TemporaryDirectory: Sendable {
    public let url: URL

    public init(prefix: String = "tandem-test") throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UUID().uuidString.lowercased())", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the folder.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `text` to `name` inside the folder and returns its path.
    @discardableResult
    public func write(_ text: String, to name: String) throws -> String {
        let path = path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}
