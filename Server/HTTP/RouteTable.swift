import Hummingbird
import TandemProtocol

/// The methods each path of the API answers (from ``Endpoint/all``), so that a known path asked
/// with another method gets 405 with an `Allow` header instead of the router's 404.
enum RouteTable {
    /// The methods `path` answers (a GET answers HEAD too), or nil when no endpoint has that path.
    static func methods(for path: String) -> [HTTPRequest.Method]? {
        let endpoints = Endpoint.all.filter { $0.matches(path: path) }
        guard !endpoints.isEmpty else { return nil }
        return endpoints.flatMap { endpoint -> [HTTPRequest.Method] in
            switch endpoint.method {
            case .get: [.get, .head]
            case .post: [.post]
            }
        }
    }

    /// The endpoint `method` and `path` ask for, if any (a HEAD asks for the GET).
    static func endpoint(_ method: HTTPRequest.Method, _ path: String) -> Endpoint? {
        let asked: Endpoint.Method? =
            switch method {
            case .get, .head: .get
            case .post: .post
            default: nil
            }
        return Endpoint.all.first { $0.method == asked && $0.matches(path: path) }
    }
}
