import Hummingbird
import TandemProtocol

/// The API's paths as the router serves them (from ``Endpoint/all``, their segments split once):
/// which endpoint a request asks for (the rate limiter's question, on every request), and which
/// methods a path answers, so that a known path asked with another method gets 405 with an
/// `Allow` header instead of the router's 404.
enum RouteTable {
    /// Each endpoint with its path's segments (`:name` matches any one segment).
    private static let routes: [(segments: [String], endpoint: Endpoint)] = Endpoint.all.map {
        ($0.routeSegments, $0)
    }

    /// The methods `path` answers (a GET answers HEAD too), or nil when no endpoint has that path.
    static func methods(for path: String) -> [HTTPRequest.Method]? {
        let asked = path.split(separator: "/")
        let methods = routes.filter { matches($0.segments, asked) }.flatMap { route -> [HTTPRequest.Method] in
            route.endpoint.method == .get ? [.get, .head] : [route.endpoint.method.http]
        }
        return methods.isEmpty ? nil : methods
    }

    /// The endpoint `method` and `path` ask for, if any (a HEAD asks for the GET).
    static func endpoint(_ method: HTTPRequest.Method, _ path: String) -> Endpoint? {
        let wanted: HTTPRequest.Method = method == .head ? .get : method
        let asked = path.split(separator: "/")
        return routes.first { $0.endpoint.method.http == wanted && matches($0.segments, asked) }?.endpoint
    }

    private static func matches(_ segments: [String], _ asked: [Substring]) -> Bool {
        segments.count == asked.count && zip(segments, asked).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
    }
}

extension Endpoint.Method {
    /// The method as Hummingbird names it.
    var http: HTTPRequest.Method {
        switch self {
        case .get: .get
        case .post: .post
        }
    }
}
