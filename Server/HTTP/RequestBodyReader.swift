import HTTPTypes
public import Hummingbird
import NIOCore
import TandemCompression
public import TandemProtocol

/// Reads a request body as JSON, within the context's limit counted on the wire and again after
/// gzip decompression, so that neither a large body nor a small gzip bomb gets through.
///
/// ```swift
/// let body = try await RequestBodyReader.json(from: request, context: context)
/// ```
public enum RequestBodyReader {
    /// The body's JSON.
    ///
    /// - Throws: ``ServerError`` `unsupported_media_type` (415) for a `Content-Type` other than
    ///   JSON in UTF-8 (none at all is taken as JSON), `too_large` (413) over the limit,
    ///   `unsupported_encoding` (415) for a `Content-Encoding` other than gzip, `bad_json` (400)
    ///   for a corrupt gzip stream or text that is not JSON.
    public static func json(from request: Request, context: TandemRequestContext) async throws -> JSONValue {
        try checkContentType(request.headers[.contentType])
        let bytes = try await self.bytes(from: request, limit: context.maxUploadSize)
        do {
            return try JSONValue.parse(bytes: bytes)
        } catch {
            throw ServerError.badJSON("the body is not valid JSON: \(error.message)")
        }
    }

    /// The body's bytes, decompressed.
    static func bytes(from request: Request, limit: Int) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap({ Int($0.trimmingSpaces) }), length > limit {
            throw ServerError.tooLarge(limit: limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw ServerError.tooLarge(limit: limit)
        }
        let bytes = Array(buffer.readableBytesView)
        switch try encoding(of: request) {
        case .identity:
            return bytes
        case .gzip:
            do {
                return try Gzip.decompress(bytes, limit: limit)
            } catch .tooLarge {
                throw ServerError.tooLarge(limit: limit)
            } catch {
                throw ServerError.badJSON("the body is not a valid gzip stream")
            }
        }
    }

    /// Accepts `application/json` and `application/<anything>+json`, with no charset or UTF-8.
    static func checkContentType(_ header: String?) throws(ServerError) {
        guard let header else { return }
        let parts = header.split(separator: ";").map { $0.trimmingSpaces.lowercased() }
        let type = parts.first ?? ""
        let isJSON = type == "application/json" || (type.hasPrefix("application/") && type.hasSuffix("+json"))
        let charsets = parts.dropFirst().filter { $0.hasPrefix("charset=") }.map {
            $0.dropFirst("charset=".count).filter { $0 != "\"" }
        }
        guard isJSON, charsets.allSatisfy({ $0 == "utf-8" || $0 == "utf8" }) else {
            throw ServerError(
                .unsupportedMediaType, "Content-Type must be application/json (UTF-8)")
        }
    }

    private enum Encoding { case identity, gzip }

    private static func encoding(of request: Request) throws(ServerError) -> Encoding {
        let codings = (request.headers[.contentEncoding] ?? "").split(separator: ",")
            .map { $0.trimmingSpaces.lowercased() }.filter { !$0.isEmpty && $0 != "identity" }
        switch codings {
        case []: return .identity
        case ["gzip"], ["x-gzip"]: return .gzip
        default:
            throw ServerError(
                .unsupportedEncoding, "Content-Encoding must be gzip or identity")
        }
    }
}
