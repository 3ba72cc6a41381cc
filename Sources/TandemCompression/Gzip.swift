import CZlib

/// gzip for HTTP bodies (`Content-Encoding: gzip`), both ways, on both sides.
///
/// ```swift
/// let packed = try Gzip.compress(body)
/// let body = try Gzip.decompress(packed, limit: 16 << 20)
/// ```
public enum Gzip {
    public enum Failure: Error, Equatable {
        /// The input is not gzip, or is damaged.
        case corrupt
        /// The decompressed body would be larger than the limit.
        case tooLarge
    }

    public static func compress(_ input: [UInt8], level: Int32 = 6) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard tandem_deflate_init_gzip(&stream, level) == Z_OK else { throw .corrupt }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 32)
        var input = input
        let status: Int32 = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw .corrupt }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }

    /// Decompresses a gzip body, refusing to produce more than `limit` bytes (a zip bomb ends
    /// as `tooLarge`, not as an exhausted server).
    public static func decompress(_ input: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard tandem_inflate_init_gzip(&stream) == Z_OK else { throw .corrupt }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var input = input
        var failure: Failure?
        input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            while true {
                let status: Int32 = chunk.withUnsafeMutableBufferPointer { target in
                    stream.next_out = target.baseAddress
                    stream.avail_out = UInt32(target.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                if output.count + produced > limit {
                    failure = .tooLarge
                    return
                }
                output.append(contentsOf: chunk[0..<produced])
                if status == Z_STREAM_END { return }
                if status != Z_OK || (produced == 0 && stream.avail_in == 0) {
                    failure = .corrupt
                    return
                }
            }
        }
        if let failure { throw failure }
        return output
    }
}
