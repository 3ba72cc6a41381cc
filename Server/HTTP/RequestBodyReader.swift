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
    /// - Throws: ``ServerError`` `too_large` (413) over the limit, `unsupported_encoding` (415) for
    ///   a `Content-Encoding` other than gzip, `bad_json` (400) for a corrupt gzip stream or text
    ///   that is not JSON.
    public static func json(from request: Request, context: TandemRequestContext) async throws -> JSONValue {
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

    private enum Encoding { case identity, gzip }

    private static func encoding(of request: Request) throws(ServerError) -> Encoding {
        let codings = (request.headers[.contentEncoding] ?? "").split(separator: ",")
            .map { $0.trimmingSpaces.lowercased() }.filter { !$0.isEmpty && $0 != "identity" }
        switch codings {
        case []: return .identity
        case ["gzip"], ["x-gzip"]: return .gzip
        default:
            throw ServerError(
                .unsupportedMediaType, "unsupported_encoding", "Content-Encoding must be gzip or identity")
        }
    }
}
