import Foundation

/// A plain TCP connection to a live test server that sends exactly the bytes it is given: what
/// an HTTP client library would refuse to send (broken encodings, lying lengths, huge headers,
/// half a request) is what the hostile-input and timeout tests need.
///
/// Its calls block: run them through ``blocking(_:)``, off the cooperative pool that the
/// server's own handlers need.
final class RawHTTPConnection {
    /// What came back: the status (0 when no status line arrived), headers with lowercased
    /// names, and the body as `Content-Length` delimits it.
    struct Response: Sendable {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let descriptor: Int32

    /// Connects to 127.0.0.1:`port`; reads give up after `timeout` seconds.
    init(port: Int, timeout: Double = 10) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket() failed") }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw Failure(description: "cannot connect to port \(port)")
        }
    }

    deinit { close(descriptor) }

    /// Sends every byte; false when the server closed the connection first.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }

    /// Reads one response, or what arrived before the server closed or the read timed out.
    func response() -> Response {
        var buffer: [UInt8] = []
        var headEnd: Int?
        var length = 0
        while true {
            if let end = headEnd, buffer.count >= end + length { break }
            guard let chunk = read() else { break }
            buffer += chunk
            if headEnd == nil, let end = Self.endOfHead(in: buffer) {
                headEnd = end
                length = Int(Self.parseHead(buffer[..<end]).1["content-length"] ?? "0") ?? 0
            }
        }
        guard let end = headEnd else { return Response(status: 0, headers: [:], body: buffer) }
        let (status, headers) = Self.parseHead(buffer[..<end])
        return Response(status: status, headers: headers, body: Array(buffer[end..<min(buffer.count, end + length)]))
    }

    /// Waits until the server closes the connection: true when it did (end of stream or reset),
    /// false when the read timed out with the connection still open.
    func waitForClose() -> Bool {
        while true {
            var byte = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &byte, byte.count, 0)
            if count == 0 { return true }
            if count < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        }
    }

    private func read() -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = recv(descriptor, &chunk, chunk.count, 0)
        return count > 0 ? Array(chunk[..<count]) : nil
    }

    private static func endOfHead(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index + 4
        }
        return nil
    }

    private static func parseHead(_ bytes: ArraySlice<UInt8>) -> (Int, [String: String]) {
        let lines = String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
        let status = lines.first.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) } ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        return (status, headers)
    }

    /// Runs `work` on a thread of its own and waits for it without holding a cooperative thread.
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let result: Result<T, any Error> = await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: Result { try work() }) }.start()
        }
        return try result.get()
    }

    /// Connects, sends `bytes` and reads the response, off the cooperative pool.
    static func exchange(port: Int, _ bytes: [UInt8]) async throws -> Response {
        try await blocking {
            let connection = try RawHTTPConnection(port: port)
            connection.send(bytes)
            return connection.response()
        }
    }

    /// The bytes of a request: the request line, `Host`, the given headers, `Content-Length`
    /// (unless `headers` set one or `Transfer-Encoding`), then the body.
    static func request(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) -> [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let names = Set(headers.map { $0.0.lowercased() })
        if !names.contains("content-length") && !names.contains("transfer-encoding")
            && (!body.isEmpty || method == "POST" || method == "PUT")
        {
            head += "Content-Length: \(body.count)\r\n"
        }
        return Array((head + "\r\n").utf8) + body
    }
}
