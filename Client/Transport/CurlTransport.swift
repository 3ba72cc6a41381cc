import CCurl
import Foundation
import TandemCompression

/// HTTP to a Tandem server through libcurl: the CLI's transport.
///
/// libcurl rather than FoundationNetworking keeps `tandem`'s start-up small (a `tandem set`
/// never touches the network and must stay fast), and it is loaded (`dlopen`) only when the first
/// transport is made, so commands that stay offline never pay for it. One handle is kept per
/// transport, so the requests of one sync share a connection.
///
/// Every request carries `Authorization: Bearer TOKEN`; bodies larger than
/// ``Configuration/compressionThreshold`` are sent gzip-compressed (`Content-Encoding: gzip`), and
/// gzip answers are asked for and decompressed — except from a server on this machine
/// (``asksForCompressedAnswers(from:)``).
///
/// ```swift
/// let transport = try CurlTransport(server: "http://127.0.0.1:8080", token: token)
/// let api = SyncAPI(transport: transport)
/// let me = try api.whoAmI()
/// ```
public final class CurlTransport: SyncTransport, @unchecked Sendable {
    /// How the transport behaves; the defaults suit a CLI on an ordinary network.
    public struct Configuration: Sendable {
        /// Seconds to wait for a connection (default 5): an unreachable server fails fast.
        public var connectTimeout: Double = 5
        /// Seconds one exchange may take in all (default 300: a large page on a slow link).
        public var timeout: Double = 300
        /// Request bodies of at least this many bytes are gzip-compressed (default 4 KiB).
        public var compressionThreshold: Int = 4096
        /// A PEM file of certificate authorities to trust for `https` (default: the system's).
        public var caFile: String?

        public init() {}
    }

    /// The server's base URL, without a trailing slash.
    public let server: String
    private let token: String?
    private let configuration: Configuration
    // One libcurl handle, used by one request at a time (the lock), reset between requests.
    private let lock = NSLock()
    private let handle: UnsafeMutableRawPointer
    private let curl: UnsafePointer<tandem_curl_api>

    /// Makes a transport for `server` (`http://` or `https://`, with or without a trailing slash).
    ///
    /// - Throws: `usage` when `server` is not an http(s) URL; `internal` when libcurl cannot be
    ///   loaded or started.
    public init(server: String, token: String?, configuration: Configuration = Configuration()) throws(ReplicaError) {
        self.server = try Self.normalize(server)
        self.token = token
        self.configuration = configuration
        guard let curl = Self.library else {
            throw ReplicaError(.internal, "cannot load libcurl (libcurl.so.4): \(Self.loadFailure)")
        }
        guard let handle = tandem_curl_easy_init(curl) else { throw ReplicaError(.internal, "cannot start libcurl") }
        self.curl = curl
        self.handle = handle
    }

    deinit { tandem_curl_easy_cleanup(curl, handle) }

    /// Whether answers are asked for gzip-compressed: yes, unless the server's host is a loopback
    /// address (`localhost`, `127.x.x.x`, `::1`). There the bytes cost nothing to carry, and
    /// compressing costs both sides CPU: a 2,000-item pull page (2.8 MB, 430 KB compressed) took
    /// the server 8 ms more and the client 5 ms to inflate, and a bootstrap of 100,000 records
    /// from a local server ran 15 % faster without it.
    package static func asksForCompressedAnswers(from server: String) -> Bool {
        guard let host = URLComponents(string: server)?.host?.lowercased() else { return true }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare == "::1" || bare.hasSuffix(".localhost") { return false }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return !(octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil })
    }

    /// `server` without its trailing slashes, when it is an http(s) URL with a host.
    ///
    /// - Throws: `usage` naming what is wrong.
    public static func normalize(_ server: String) throws(ReplicaError) -> String {
        var url = server
        while url.hasSuffix("/") { url.removeLast() }
        let lowered = url.lowercased()
        guard let scheme = ["http://", "https://"].first(where: { lowered.hasPrefix($0) }),
            url.count > scheme.count, !url.contains(" "), !url.contains("?"), !url.contains("#")
        else {
            throw ReplicaError(.usage, "\"\(server)\" is not a server URL (http://HOST[:PORT] or https://…)")
        }
        return url
    }

    /// libcurl, loaded and initialised once (thread-safe: a static's initialiser runs once); nil
    /// when it cannot be loaded.
    nonisolated(unsafe) private static let library: UnsafePointer<tandem_curl_api>? = {
        let api = UnsafeMutablePointer<tandem_curl_api>.allocate(capacity: 1)
        api.initialize(to: tandem_curl_api())
        guard tandem_curl_open(api) == 1, tandem_curl_global_init(api) == CURLE_OK else {
            loadFailure = dlerror().map { String(cString: $0) } ?? "curl_global_init failed"
            return nil
        }
        return UnsafePointer(api)
    }()
    nonisolated(unsafe) private static var loadFailure = ""

    public func send(_ request: TransportRequest) throws -> TransportResponse {
        lock.lock()
        defer { lock.unlock() }
        return try perform(request)
    }

    private func perform(_ request: TransportRequest) throws(ReplicaError) -> TransportResponse {
        tandem_curl_easy_reset(curl, handle)
        let received = Received()
        let context = Unmanaged.passUnretained(received).toOpaque()
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var headers: UnsafeMutablePointer<curl_slist>?
        defer {
            errorBuffer.deallocate()
            tandem_curl_slist_free_all(curl, headers)
        }

        var lines = ["Accept: application/json", "Expect:"]
        if let token { lines.append("Authorization: Bearer \(token)") }
        var body = request.body
        if request.method == .post {
            lines.append("Content-Type: application/json")
            if body.count >= configuration.compressionThreshold, let packed = try? Gzip.compress(body) {
                body = packed
                lines.append("Content-Encoding: gzip")
            }
        }
        for (name, value) in request.headers.sorted(by: { $0.key < $1.key }) { lines.append("\(name): \(value)") }
        for line in lines { headers = tandem_curl_slist_append(curl, headers, line) }

        var code = CURLE_OK
        func set(_ result: CURLcode) { if code == CURLE_OK { code = result } }
        set(tandem_curl_set_string(curl, handle, CURLOPT_URL, url(for: request)))
        set(tandem_curl_set_long(curl, handle, CURLOPT_NOSIGNAL, 1))
        set(tandem_curl_set_long(curl, handle, CURLOPT_CONNECTTIMEOUT_MS, Int(configuration.connectTimeout * 1000)))
        set(tandem_curl_set_long(curl, handle, CURLOPT_TIMEOUT_MS, Int(configuration.timeout * 1000)))
        if Self.asksForCompressedAnswers(from: server) {
            set(tandem_curl_set_string(curl, handle, CURLOPT_ACCEPT_ENCODING, "gzip"))
        }
        set(tandem_curl_set_string(curl, handle, CURLOPT_USERAGENT, "tandem/0.1"))
        set(tandem_curl_set_slist(curl, handle, CURLOPT_HTTPHEADER, headers))
        set(tandem_curl_set_pointer(curl, handle, CURLOPT_ERRORBUFFER, errorBuffer))
        set(tandem_curl_set_write_function(curl, handle, writeBody))
        set(tandem_curl_set_pointer(curl, handle, CURLOPT_WRITEDATA, context))
        set(tandem_curl_set_header_function(curl, handle, writeHeader))
        set(tandem_curl_set_pointer(curl, handle, CURLOPT_HEADERDATA, context))
        // libcurl verifies by default; said again so that no build or environment can turn it off.
        set(tandem_curl_set_long(curl, handle, CURLOPT_SSL_VERIFYPEER, 1))
        set(tandem_curl_set_long(curl, handle, CURLOPT_SSL_VERIFYHOST, 2))
        if let caFile = configuration.caFile { set(tandem_curl_set_string(curl, handle, CURLOPT_CAINFO, caFile)) }
        switch request.method {
        case .get:
            set(tandem_curl_set_long(curl, handle, CURLOPT_HTTPGET, 1))
        case .post:
            set(tandem_curl_set_long(curl, handle, CURLOPT_POST, 1))
            set(tandem_curl_set_long(curl, handle, CURLOPT_POSTFIELDSIZE, body.count))
            // COPYPOSTFIELDS copies the bytes (after POSTFIELDSIZE, so binary gzip is fine).
            set(
                body.withUnsafeMutableBytes {
                    tandem_curl_set_pointer(curl, handle, CURLOPT_COPYPOSTFIELDS, $0.baseAddress)
                })
        }
        guard code == CURLE_OK else {
            throw ReplicaError(
                .internal,
                "cannot set up a request to \(server): \(String(cString: tandem_curl_easy_strerror(curl, code)))")
        }

        let result = withExtendedLifetime(received) { tandem_curl_easy_perform(curl, handle) }
        guard result == CURLE_OK else { throw failure(result, detail: String(cString: errorBuffer)) }
        var status = 0
        _ = tandem_curl_get_response_code(curl, handle, &status)
        return TransportResponse(status: status, headers: received.headers, body: received.body)
    }

    private func url(for request: TransportRequest) -> String {
        var url = server + request.path
        if !request.query.isEmpty {
            url += "?" + request.query.map { Self.escape($0.name) + "=" + Self.escape($0.value) }.joined(separator: "&")
        }
        return url
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    static func escape(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                output += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return output
    }

    /// A libcurl failure as the CLI reports it: the server cannot be reached (69), whatever the
    /// cause (refused, no such host, timeout, TLS), with libcurl's own words for it. A certificate
    /// that cannot be verified is 69 too (no trusted connection is possible; retrying will not
    /// help), said as such, with the way out (`--ca-file`).
    private func failure(_ code: CURLcode, detail: String) -> ReplicaError {
        let reason = detail.isEmpty ? String(cString: tandem_curl_easy_strerror(curl, code)) : detail
        switch code {
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return ReplicaError(.usage, "\(server) is not a server URL: \(reason)")
        case CURLE_PEER_FAILED_VERIFICATION:
            let hint =
                configuration.caFile.map { "; is \($0) the authority that signed it?" }
                ?? "; if a private authority signed it, give its certificate with --ca-file PATH"
            return ReplicaError(.unavailable, "cannot verify the certificate of \(server): \(reason)\(hint)")
        case CURLE_SSL_CACERT_BADFILE:
            return ReplicaError(
                .notFound, "cannot read the certificate authorities \(configuration.caFile ?? ""): \(reason)")
        default:
            return ReplicaError(.unavailable, "cannot reach \(server): \(reason)")
        }
    }
}

/// What libcurl hands back while a request runs: headers and body bytes.
private final class Received {
    var body: [UInt8] = []
    var headers: [String: String] = [:]
}

private let writeBody: tandem_curl_write_callback = { data, size, count, context in
    guard let data, let context else { return 0 }
    let received = Unmanaged<Received>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    data.withMemoryRebound(to: UInt8.self, capacity: length) {
        received.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
    }
    return length
}

private let writeHeader: tandem_curl_write_callback = { data, size, count, context in
    guard let data, let context else { return 0 }
    let received = Unmanaged<Received>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    let line = data.withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }
    if line.hasPrefix("HTTP/") {
        // A new response (after a redirect or a 100 Continue): forget the previous one's headers.
        received.headers = [:]
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        received.headers[name] = value
    }
    return length
}
