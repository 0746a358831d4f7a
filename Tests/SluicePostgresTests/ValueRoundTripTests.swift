import Foundation
import SluicePostgres
import Testing

/// Every PostgresValue kind, through a real server and back.
@Suite(.timeLimit(.minutes(5))) struct ValueRoundTripTests {
    static let allBytes: [UInt8] = (0...255).map { UInt8($0) }

    @Test func everyKindThroughATable() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let when = Date(timeIntervalSince1970: 1_700_000_000.123456)
            let texts = ["a,b", "c\"d", "e\\f", "{x}", "", "NULL", " spaced ", "ünï🎉"]
            let hashes: [[UInt8]] = [[], [0], Self.allBytes, [0xff, 0x5c, 0x22, 0x2c]]
            let row = try await pool.withConnection { c in
                try c.execute("""
                    CREATE TABLE kinds (id int PRIMARY KEY, t text, i bigint, d double precision, b boolean,
                        by bytea, ts timestamptz, ta text[], ba bytea[])
                    """)
                let insert = try c.execute(
                    "INSERT INTO kinds VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8)",
                    [.text("héllo wörld — 你好 🎉👩‍👩‍👧"), .int(Int64.min), .double(-1.5), .bool(true),
                     .bytes(Self.allBytes), .timestamp(when), .textArray(texts), .bytesArray(hashes)])
                #expect(insert.affectedRows == 1)
                #expect(insert.commandTag == "INSERT 0 1")
                return try c.execute("SELECT * FROM kinds WHERE id = 1").rows[0]
            }
            #expect(try row.string("t") == "héllo wörld — 你好 🎉👩‍👩‍👧")
            #expect(try row.int("i") == Int64.min)
            #expect(try row.double("d") == -1.5)
            #expect(try row.bool("b") == true)
            #expect(try row.bytes("by") == Self.allBytes)
            #expect(try micros(row.date("ts")) == micros(when))
            #expect(try row.stringArray("ta") == texts)
            #expect(try row.bytesArray("ba") == hashes)
            #expect(row.columns.map(\.name) == ["id", "t", "i", "d", "b", "by", "ts", "ta", "ba"])
        }
    }

    @Test func nullInEveryColumn() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let row = try await pool.withConnection { c in
                try c.execute("""
                    CREATE TABLE kinds (t text, i bigint, d double precision, b boolean, by bytea,
                        ts timestamptz, ta text[], ba bytea[])
                    """)
                try c.execute(
                    "INSERT INTO kinds VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", Array(repeating: .null, count: 8))
                return try c.execute("SELECT * FROM kinds").rows[0]
            }
            #expect(try row.optionalString("t") == nil)
            #expect(try row.optionalInt("i") == nil)
            #expect(try row.optionalDouble("d") == nil)
            #expect(try row.optionalBool("b") == nil)
            #expect(try row.optionalBytes("by") == nil)
            #expect(try row.optionalDate("ts") == nil)
            #expect(try row.optionalStringArray("ta") == nil)
            #expect(try row.optionalBytesArray("ba") == nil)
            #expect(try row.isNull("t"))
            let error = #expect(throws: PostgresError.self) { try row.int("i") }
            #expect(error?.kind == .decoding)
            #expect(error?.message.contains("NULL") == true)
        }
    }

    @Test func textEdgeCases() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let samples = ["", "it's \"quoted\" \\ back\\slash", "line\nbreak\ttab", "\u{1F600}", "ÅÄÖ", "\\x00"]
            for sample in samples {
                let back = try await pool.withConnection { c in
                    try c.execute("SELECT $1::text AS v, length($1::text)::bigint AS n", [.text(sample)]).rows[0]
                }
                #expect(try back.string("v") == sample)
                #expect(try back.int("n") == Int64(sample.count))
            }
            // Empty text is not NULL.
            let empty = try await pool.withConnection { c in
                try c.execute("SELECT $1::text IS NULL AS isnull", [.text("")]).rows[0]
            }
            #expect(try empty.bool("isnull") == false)
            // PostgreSQL text cannot hold NUL: refused before it is sent.
            let error = await #expect(throws: PostgresError.self) {
                try await pool.withConnection { c in try c.execute("SELECT $1::text", [.text("a\u{0}b")]) }
            }
            #expect(error?.kind == .encoding)
        }
    }

    @Test func bytesAllValuesAndEmpty() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let row = try await pool.withConnection { c in
                try c.execute("""
                    SELECT $1 AS all_bytes, length($1)::bigint AS n, $2 AS empty, $2 IS NULL AS empty_is_null,
                        sha256($1) AS digest, get_byte($1, 255)::bigint AS last
                    """, [.bytes(Self.allBytes), .bytes([])]).rows[0]
            }
            #expect(try row.bytes("all_bytes") == Self.allBytes)
            #expect(try row.int("n") == 256)
            #expect(try row.bytes("empty") == [])
            #expect(try row.bool("empty_is_null") == false)
            #expect(try row.bytes("digest").count == 32)
            #expect(try row.int("last") == 255)
        }
    }

    @Test func byteaArrays() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let hashes: [[UInt8]] = [Array(repeating: 0xab, count: 32), [], Self.allBytes]
            let row = try await pool.withConnection { c in
                try c.execute("""
                    SELECT $1 AS hashes, cardinality($1)::bigint AS n, ($1)[2] = '\\x'::bytea AS second_empty,
                        $2 AS none, ARRAY['\\x01'::bytea, NULL] AS with_null, '[0:1]={a,b}'::text[] AS bounded,
                        ARRAY['x', NULL]::text[] AS text_with_null
                    """, [.bytesArray(hashes), .bytesArray([])]).rows[0]
            }
            #expect(try row.bytesArray("hashes") == hashes)
            #expect(try row.int("n") == 3)
            #expect(try row.bool("second_empty"))
            #expect(try row.bytesArray("none") == [])
            #expect(try row.stringArray("bounded") == ["a", "b"])
            #expect(throws: PostgresError.self) { try row.bytesArray("with_null") }
            #expect(throws: PostgresError.self) { try row.stringArray("text_with_null") }
            #expect(try row.rawText("text_with_null") == "{x,NULL}")
        }
    }

    @Test func integersDoublesBooleans() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            for value in [Int64.min, -1, 0, 1, Int64.max] {
                let back = try await pool.withConnection { c in try c.execute("SELECT $1 AS v", [.int(value)]).rows[0] }
                #expect(try back.int("v") == value)
            }
            let doubles: [Double] = [0, -0.0, 1.5, 0.1, 1e-300, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .pi,
                                     .infinity, -.infinity]
            for value in doubles {
                let back = try await pool.withConnection { c in try c.execute("SELECT $1 AS v", [.double(value)]).rows[0] }
                #expect(try back.double("v").bitPattern == value.bitPattern, "\(value)")
            }
            let nan = try await pool.withConnection { c in try c.execute("SELECT $1 AS v", [.double(.nan)]).rows[0] }
            #expect(try nan.double("v").isNaN)
            for value in [true, false] {
                let back = try await pool.withConnection { c in try c.execute("SELECT $1 AS v", [.bool(value)]).rows[0] }
                #expect(try back.bool("v") == value)
            }
            // Integer-valued numeric (sum of bigint) reads as Int64; int columns read as Double too.
            let sums = try await pool.withConnection { c in
                try c.execute("SELECT sum(x) AS s, 7::int AS seven, 2.5::numeric AS frac FROM (VALUES (1::bigint), (2)) v(x)").rows[0]
            }
            #expect(try sums.int("s") == 3)
            #expect(try sums.double("seven") == 7)
            #expect(throws: PostgresError.self) { try sums.int("frac") }
            // Literal conformances.
            let literals: [PostgresValue] = ["text", 42, 1.25, true]
            #expect(literals == [.text("text"), .int(42), .double(1.25), .bool(true)])
        }
    }

    @Test func timestamps() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let dates = [
                Date(timeIntervalSince1970: 0),
                Date(timeIntervalSince1970: 1_700_000_000.123456),
                Date(timeIntervalSince1970: -0.5),
                Date(timeIntervalSince1970: 4_102_444_800.000001),  // 2100-01-01
                Date(timeIntervalSince1970: -30_610_224_000),  // 1000-01-01
            ]
            for date in dates {
                let row = try await pool.withConnection { c in
                    try c.execute("""
                        SELECT $1 AS ts, extract(epoch FROM $1) AS epoch, $1::timestamp AS naive,
                            to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS shown
                        """, [.timestamp(date)]).rows[0]
                }
                #expect(try micros(row.date("ts")) == micros(date), "\(date)")
                #expect(try micros(row.date("naive")) == micros(date), "\(date)")
                #expect(try abs(row.double("epoch") - date.timeIntervalSince1970) < 1e-6, "\(date)")
                #expect(try micros(row.date("epoch")) == micros(date), "\(date)")
                #expect(try !row.string("shown").isEmpty)
            }
            // The server agrees on what instant was sent.
            let same = try await pool.withConnection { c in
                try c.execute(
                    "SELECT $1 = '2023-11-14 22:13:20.123456+00'::timestamptz AS same",
                    [.timestamp(Date(timeIntervalSince1970: 1_700_000_000.123456))]).rows[0]
            }
            #expect(try same.bool("same"))
            // Offsets other than UTC (a session that changed TimeZone) parse too.
            let offsets = try await pool.withConnection { c in
                defer { _ = try? c.execute("SET TimeZone = 'UTC'") }
                try c.execute("SET TimeZone = 'Asia/Kolkata'")
                let kolkata = try c.execute("SELECT '2024-01-02 03:04:05.5+00'::timestamptz AS ts").rows[0]
                // Amsterdam's 1900 offset was +00:19:32: an offset with seconds.
                try c.execute("SET TimeZone = 'Europe/Amsterdam'")
                let amsterdam = try c.execute("SELECT '1900-01-01 00:00:00+00'::timestamptz AS ts").rows[0]
                return (kolkata, amsterdam)
            }
            #expect(try offsets.0.rawText("ts") == "2024-01-02 08:34:05.5+05:30")
            #expect(try micros(offsets.0.date("ts")) == 1_704_164_645_500_000)
            #expect(try offsets.1.rawText("ts") == "1900-01-01 00:19:32+00:19:32")
            #expect(try micros(offsets.1.date("ts")) == -2_208_988_800_000_000)
            let special = try await pool.withConnection { c in
                try c.execute("""
                    SELECT 'infinity'::timestamptz AS f, '-infinity'::timestamptz AS p,
                        '0001-01-01 00:00:00+00 BC'::timestamptz AS bc
                    """).rows[0]
            }
            #expect(try special.date("f") == .distantFuture)
            #expect(try special.date("p") == .distantPast)
            #expect(try special.rawText("bc") == "0001-01-01 00:00:00+00 BC")
            #expect(try micros(special.date("bc")) == -62_167_219_200_000_000)
        }
    }

    @Test func accessorErrors() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let row = try await pool.withConnection { c in
                try c.execute("SELECT 'x'::text AS t, '\\x00'::bytea AS b, 1::int AS i, 'maybe'::text AS notbool").rows[0]
            }
            let missing = #expect(throws: PostgresError.self) { try row.string("nope") }
            #expect(missing?.kind == .decoding)
            #expect(missing?.message.contains("no column \"nope\"") == true)
            let wrongType = #expect(throws: PostgresError.self) { try row.int("t") }
            #expect(wrongType?.message.contains("text") == true)
            #expect(throws: PostgresError.self) { try row.string("b") }  // bytea is read with bytes(_:)
            #expect(throws: PostgresError.self) { try row.bool("i") }
            #expect(throws: PostgresError.self) { try row.bytes("t") }
            #expect(throws: PostgresError.self) { try row.bool("notbool") }
            #expect(throws: PostgresError.self) { try row.date("t") }
            #expect(try row.string("t") == "x")
        }
    }
}

/// Microseconds since 1970, rounded: PostgreSQL's resolution.
func micros(_ date: Date) -> Int64 {
    Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
}
