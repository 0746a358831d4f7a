import Foundation

/// A statement parameter (`$1`, `$2`, ...). Parameters travel in PostgreSQL's text format.
///
/// | case | sent as | declared type |
/// | --- | --- | --- |
/// | `.null` | SQL NULL | inferred by the server |
/// | `.text` | the string | inferred by the server (so it can feed text, varchar, jsonb, uuid, enums...) |
/// | `.int` | decimal | bigint |
/// | `.double` | shortest round-trip decimal, `Infinity`, `-Infinity`, `NaN` | double precision |
/// | `.bool` | `true` / `false` | boolean |
/// | `.bytes` | `\x` + hex | bytea |
/// | `.timestamp` | ISO 8601 in UTC, microseconds | timestamptz |
/// | `.textArray` | `{"a","b"}` | text[] |
/// | `.bytesArray` | `{"\\x00ff","\\x"}` | bytea[] |
///
/// Where the server cannot infer the type of a `.text` or `.null` parameter (e.g. `SELECT $1`
/// or `$1 IS NULL` alone), cast it in SQL: `$1::text`, `$1::bigint`.
public enum PostgresValue: Sendable, Hashable {
    case null
    case text(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case bytes([UInt8])
    case timestamp(Date)
    case textArray([String])
    case bytesArray([[UInt8]])

    /// PostgreSQL type OIDs (pg_type.oid) this wrapper names.
    enum OID {
        static let bool: UInt32 = 16
        static let bytea: UInt32 = 17
        static let char: UInt32 = 18
        static let name: UInt32 = 19
        static let int8: UInt32 = 20
        static let int2: UInt32 = 21
        static let int4: UInt32 = 23
        static let text: UInt32 = 25
        static let oid: UInt32 = 26
        static let float4: UInt32 = 700
        static let float8: UInt32 = 701
        static let byteaArray: UInt32 = 1001
        static let nameArray: UInt32 = 1003
        static let bpcharArray: UInt32 = 1014
        static let textArray: UInt32 = 1009
        static let varcharArray: UInt32 = 1015
        static let timestamp: UInt32 = 1114
        static let timestamptz: UInt32 = 1184
        static let numeric: UInt32 = 1700
    }

    /// The declared type (0: let the server infer it) and the text to send (nil: SQL NULL).
    func encoded() throws -> (type: UInt32, text: String?) {
        switch self {
        case .null:
            return (0, nil)
        case .text(let string):
            try Self.checkNoNUL(string)
            return (0, string)
        case .int(let value):
            return (OID.int8, String(value))
        case .double(let value):
            let text: String
            if value.isNaN {
                text = "NaN"
            } else if value.isInfinite {
                text = value < 0 ? "-Infinity" : "Infinity"
            } else {
                text = "\(value)"
            }
            return (OID.float8, text)
        case .bool(let value):
            return (OID.bool, value ? "true" : "false")
        case .bytes(let bytes):
            return (OID.bytea, PostgresTextFormat.byteaHex(bytes))
        case .timestamp(let date):
            return (OID.timestamptz, PostgresTextFormat.timestamp(date))
        case .textArray(let strings):
            for string in strings { try Self.checkNoNUL(string) }
            return (OID.textArray, PostgresTextFormat.arrayLiteral(strings))
        case .bytesArray(let arrays):
            return (OID.byteaArray, PostgresTextFormat.arrayLiteral(arrays.map(PostgresTextFormat.byteaHex)))
        }
    }

    private static func checkNoNUL(_ string: String) throws {
        if string.utf8.contains(0) {
            throw PostgresError(.encoding, "text parameters cannot contain NUL (U+0000); PostgreSQL text never does")
        }
    }
}

extension PostgresValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral
{
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
