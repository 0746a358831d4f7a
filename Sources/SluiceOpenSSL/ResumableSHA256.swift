import COpenSSL

/// SHA-256 whose running state can be exported as bytes and resumed later, possibly by
/// another process: the whole-object hash of an upload advances partition by partition
/// across calls (and instances) with its state kept in the database between them.
///
/// Uses OpenSSL's low-level SHA256_CTX (a plain struct), serialized field by field in a
/// fixed big-endian layout so that the bytes do not depend on the machine's struct layout.
public struct ResumableSHA256: Sendable {
    private var context = SHA256_CTX()

    /// Size of an exported state, in bytes.
    public static let exportedSize = 1 + 4 * 28
    private static let formatVersion: UInt8 = 1

    public init() {
        guard sluice_SHA256_Init(&context) == 1 else {
            fatalError("OpenSSL cannot start SHA-256: \(OpenSSLError.capture("SHA256_Init"))")
        }
    }

    /// Resumes an exported state; nil for bytes that are not one.
    public init?(exported bytes: [UInt8]) {
        guard bytes.count == Self.exportedSize, bytes[0] == Self.formatVersion else { return nil }
        var words = (0..<28).map { index -> UInt32 in
            let start = 1 + index * 4
            return bytes[start..<start + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }[...]
        func take() -> UInt32 { words.removeFirst() }
        var context = SHA256_CTX()
        context.h = (take(), take(), take(), take(), take(), take(), take(), take())
        context.Nl = take()
        context.Nh = take()
        context.data = (
            take(), take(), take(), take(), take(), take(), take(), take(),
            take(), take(), take(), take(), take(), take(), take(), take()
        )
        context.num = take()
        context.md_len = take()
        guard context.num < 64, context.md_len == 32 else { return nil }
        self.context = context
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        _ = sluice_SHA256_Update(&context, base, bytes.count)
    }

    /// The running state, to be passed to ``init(exported:)``.
    public func exported() -> [UInt8] {
        let c = context
        let words: [UInt32] = [
            c.h.0, c.h.1, c.h.2, c.h.3, c.h.4, c.h.5, c.h.6, c.h.7, c.Nl, c.Nh,
            c.data.0, c.data.1, c.data.2, c.data.3, c.data.4, c.data.5, c.data.6, c.data.7,
            c.data.8, c.data.9, c.data.10, c.data.11, c.data.12, c.data.13, c.data.14, c.data.15,
            c.num, c.md_len,
        ]
        var bytes = [Self.formatVersion]
        bytes.reserveCapacity(Self.exportedSize)
        for word in words {
            bytes.append(contentsOf: [UInt8(word >> 24), UInt8(word >> 16 & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word & 0xFF)])
        }
        return bytes
    }

    /// The 32-byte digest of everything hashed so far (the state itself is left as it was).
    public func finalize() -> [UInt8] {
        var copy = context
        var digest = [UInt8](repeating: 0, count: 32)
        _ = sluice_SHA256_Final(&digest, &copy)
        return digest
    }
}
