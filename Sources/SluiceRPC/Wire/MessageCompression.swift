import CZlib

/// A `grpc-encoding` this implementation speaks. Only gzip is offered beside identity.
public struct MessageCompression: Sendable, Equatable {
    /// The name used in `grpc-encoding` and `grpc-accept-encoding`.
    public let name: String

    public static let gzip = MessageCompression(name: "gzip")

    /// Names accepted from peers, for `grpc-accept-encoding`.
    public static let acceptedNames = ["identity", "gzip"]

    /// The compression for a `grpc-encoding` value: nil for identity, throws for one not spoken.
    public static func forEncoding(_ name: String?) throws(RPCError) -> MessageCompression? {
        switch name {
        case nil, "identity": return nil
        case "gzip": return .gzip
        case let other?:
            throw RPCError(
                .unimplemented,
                "grpc-encoding '\(other)' is not supported; supported: \(acceptedNames.joined(separator: ","))")
        }
    }

    public func compress(_ bytes: [UInt8]) throws(RPCError) -> [UInt8] {
        var stream = z_stream()
        guard sluice_deflate_init_gzip(&stream, Z_DEFAULT_COMPRESSION) == Z_OK else {
            throw RPCError(.internal, "gzip compressor failed to start")
        }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 32)
        var input = bytes
        let status = input.withUnsafeMutableBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                stream.next_in = inputBuffer.baseAddress
                stream.avail_in = uInt(inputBuffer.count)
                stream.next_out = outputBuffer.baseAddress
                stream.avail_out = uInt(outputBuffer.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw RPCError(.internal, "gzip compression failed (\(status))") }
        output.removeLast(output.count - Int(stream.total_out))
        return output
    }

    /// Decompresses, failing with RESOURCE_EXHAUSTED once the output would pass `limit`
    /// (so a small "zip bomb" cannot allocate without bound).
    public func decompress(_ bytes: [UInt8], limit: Int) throws(RPCError) -> [UInt8] {
        var stream = z_stream()
        guard sluice_inflate_init_gzip(&stream) == Z_OK else {
            throw RPCError(.internal, "gzip decompressor failed to start")
        }
        defer { inflateEnd(&stream) }
        var input = bytes
        var output = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var status: Int32 = Z_OK
        try input.withUnsafeMutableBufferPointer { (inputBuffer) throws(RPCError) in
            stream.next_in = inputBuffer.baseAddress
            stream.avail_in = uInt(inputBuffer.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { chunkBuffer in
                    stream.next_out = chunkBuffer.baseAddress
                    stream.avail_out = uInt(chunkBuffer.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return chunkBuffer.count - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    throw RPCError(.internal, "compressed message is not valid gzip (zlib status \(status))")
                }
                guard output.count + produced <= limit else {
                    throw RPCError(
                        .resourceExhausted,
                        "decompressed message exceeds the limit of \(limit) bytes",
                        trailers: Metadata.retryRefused)
                }
                output.append(contentsOf: chunk[0..<produced])
                if produced == 0 && stream.avail_in == 0 && status != Z_STREAM_END {
                    throw RPCError(.internal, "compressed message is truncated")
                }
                // Bytes after a member: another member (gzip allows several, read as one), or junk.
                if status == Z_STREAM_END && stream.avail_in > 0 {
                    guard stream.avail_in >= 2, stream.next_in[0] == 0x1f, stream.next_in[1] == 0x8b else {
                        throw RPCError(.internal, "compressed message has \(stream.avail_in) bytes after its gzip data")
                    }
                    inflateReset(&stream)
                    status = Z_OK
                }
            } while status != Z_STREAM_END
        }
        return output
    }
}
