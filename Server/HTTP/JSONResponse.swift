import HTTPTypes
public import Hummingbird
import TandemCompression
public import TandemProtocol

/// Every answer of the API is JSON made here, gzipped when the request's `Accept-Encoding`
/// allows it (SPEC §4).
///
/// ```swift
/// return JSONResponse.make(WhoAmI(organisation: nil, role: .auditor).json, for: request)
/// ```
public enum JSONResponse {
    /// A response carrying `json`, compressed when `request` accepts gzip.
    public static func make(_ json: JSONValue, status: HTTPResponse.Status = .ok, for request: Request) -> Response {
        make(text: json.serialized(), status: status, for: request)
    }

    /// A response carrying JSON text rendered beforehand (a pull page), or other text of
    /// `contentType` (the metrics), compressed when `request` accepts gzip — at level 1: on the
    /// pages a bootstrap pulls it is several times faster than the default and JSON still shrinks
    /// about tenfold.
    public static func make(
        text: String, contentType: String = "application/json", status: HTTPResponse.Status = .ok,
        for request: Request
    ) -> Response {
        var bytes = Array(text.utf8)
        var headers: HTTPFields = [.contentType: contentType, .vary: "Accept-Encoding"]
        if acceptsGzip(request.headers[.acceptEncoding]), let packed = try? Gzip.compress(bytes, level: 1) {
            bytes = packed
            headers[.contentEncoding] = "gzip"
        }
        headers[.contentLength] = String(bytes.count)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Whether an `Accept-Encoding` value lists gzip (or `*`) with a non-zero quality.
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        for item in header.split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingSpaces.lowercased() }
            guard let coding = parts.first, coding == "gzip" || coding == "x-gzip" || coding == "*" else { continue }
            let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            if quality > 0 { return true }
        }
        return false
    }
}

extension StringProtocol {
    /// The text without leading or trailing spaces and tabs (header syntax, no Foundation).
    var trimmingSpaces: Substring {
        let text = Substring(self)
        guard let start = text.firstIndex(where: { $0 != " " && $0 != "\t" }),
            let end = text.lastIndex(where: { $0 != " " && $0 != "\t" })
        else { return "" }
        return text[start...end]
    }
}
