import Hummingbird

/// The API's paths and the methods each answers, so that a known path asked with another method
/// gets 405 with an `Allow` header instead of the router's 404.
///
/// Keep in step with the routes ``buildApplication(configuration:store:logger:clock:metrics:onServerRunning:)``
/// registers (a test walks every entry).
enum RouteTable {
    /// Path segments (`:name` matches any one segment) and the methods served there.
    static let entries: [(segments: [String], methods: [HTTPRequest.Method])] = [
        (["healthz"], [.get, .head]),
        (["openapi.json"], [.get, .head]),
        (["metrics"], [.get, .head]),
        (["v1", "whoami"], [.get, .head]),
        (["v1", "schema"], [.get, .head]),
        (["v1", "push"], [.post]),
        (["v1", "pull"], [.get, .head]),
        (["v1", "conflicts"], [.get, .head]),
        (["v1", "conflicts", ":id", "resolve"], [.post]),
        (["v1", "devices"], [.post]),
        (["v1", "history"], [.get, .head]),
        (["v1", "erase"], [.post]),
        (["v1", "checkpoint"], [.get, .head]),
        (["v1", "bundle"], [.get, .head]),
        (["v1", "digest"], [.get, .head]),
    ]

    /// The methods `path` answers, or nil when no route has that path.
    static func methods(for path: String) -> [HTTPRequest.Method]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        return entries.first { entry in
            entry.segments.count == segments.count
                && zip(entry.segments, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
        }?.methods
    }
}
