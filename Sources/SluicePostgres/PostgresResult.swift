import Foundation

/// A column of a result: its name and its type's OID (pg_type.oid).
public struct PostgresColumn: Sendable, Hashable {
    public let name: String
    public let typeOID: UInt32
}

/// The outcome of one statement, copied out of libpq into Swift values (so it is `Sendable` and
/// outlives the connection).
public struct PostgresResult: Sendable {
    /// The result's columns, in order; empty for statements that return no rows.
    public let columns: [PostgresColumn]
    /// The rows, in the order the server sent them.
    public let rows: [PostgresRow]
    /// Rows inserted, updated, deleted, selected, moved, fetched or copied (PQcmdTuples); 0 for
    /// statements that do not count rows.
    public let affectedRows: Int
    /// The command tag, e.g. "INSERT 0 1", "UPDATE 3", "COMMIT" (PQcmdStatus).
    public let commandTag: String

    init(columns: [PostgresColumn], cells: [[String?]], affectedRows: Int, commandTag: String) {
        let layout = PostgresRow.Layout(columns: columns)
        self.columns = columns
        self.rows = cells.map { PostgresRow(layout: layout, cells: $0) }
        self.affectedRows = affectedRows
        self.commandTag = commandTag
    }
}

/// One row of a result. Values are read by column name, each accessor checking the column's type:
///
/// | accessor | accepts columns of type |
/// | --- | --- |
/// | `string` | anything but bytea and bytea[] (text, varchar, uuid, jsonb, numeric... as their text) |
/// | `int` | smallint, integer, bigint, oid; numeric holding an integer (e.g. `sum(bigint)`) |
/// | `double` | real, double precision, numeric, smallint, integer, bigint |
/// | `bool` | boolean |
/// | `bytes` | bytea |
/// | `date` | timestamptz, timestamp (read as UTC); or a number of seconds since 1970 |
/// | `bytesArray` | bytea[] |
/// | `stringArray` | text[], varchar[], char(n)[], name[] |
///
/// The non-optional accessors throw a `PostgresError` of kind `.decoding` for SQL NULL; the
/// `optional...` variants return nil for it. Both throw for a missing column or a wrong type.
///
/// Timestamps: select the timestamptz column itself and read it with `date(_:)`. The connection
/// pins `DateStyle = ISO, YMD` and `TimeZone = UTC` for its session, so the text is always
/// `2024-05-06 07:08:09.123456+00` and parses exactly (to the microsecond). Selecting
/// `extract(epoch FROM col)` and reading it with `double(_:)` (or `date(_:)`) works as well, and
/// is the choice when you want plain seconds.
public struct PostgresRow: Sendable {
    /// Column names and types shared by all rows of a result.
    final class Layout: Sendable {
        let columns: [PostgresColumn]
        let index: [String: Int]

        init(columns: [PostgresColumn]) {
            self.columns = columns
            var index = [String: Int]()
            for (i, column) in columns.enumerated() where index[column.name] == nil {
                index[column.name] = i  // with duplicate names, the first one wins
            }
            self.index = index
        }
    }

    let layout: Layout
    /// Each column's value in PostgreSQL's text format; nil for SQL NULL.
    let cells: [String?]

    /// The columns of this row.
    public var columns: [PostgresColumn] { layout.columns }

    /// The raw text of a column (PostgreSQL's text output format), nil for SQL NULL.
    public func rawText(_ column: String) throws -> String? {
        try cell(column, accepting: nil, as: "text").text
    }

    /// Whether the column is SQL NULL.
    public func isNull(_ column: String) throws -> Bool {
        try rawText(column) == nil
    }

    // MARK: accessors

    public func string(_ column: String) throws -> String {
        try required(column, optionalString(column))
    }

    public func optionalString(_ column: String) throws -> String? {
        let (info, text) = try cell(column, accepting: nil, as: "String")
        if info.typeOID == PostgresValue.OID.bytea || info.typeOID == PostgresValue.OID.byteaArray {
            throw mismatch(info, "String", extra: "; read it with bytes(_:) or bytesArray(_:)")
        }
        return text
    }

    public func int(_ column: String) throws -> Int64 {
        try required(column, optionalInt(column))
    }

    public func optionalInt(_ column: String) throws -> Int64? {
        let O = PostgresValue.OID.self
        let (info, text) = try cell(column, accepting: [O.int2, O.int4, O.int8, O.oid, O.numeric], as: "Int64")
        guard let text else { return nil }
        guard let value = Int64(text) else { throw unparsable(info, text, "Int64") }
        return value
    }

    public func double(_ column: String) throws -> Double {
        try required(column, optionalDouble(column))
    }

    public func optionalDouble(_ column: String) throws -> Double? {
        let O = PostgresValue.OID.self
        let (info, text) = try cell(
            column, accepting: [O.float4, O.float8, O.numeric, O.int2, O.int4, O.int8], as: "Double")
        guard let text else { return nil }
        guard let value = Self.parseDouble(text) else { throw unparsable(info, text, "Double") }
        return value
    }

    public func bool(_ column: String) throws -> Bool {
        try required(column, optionalBool(column))
    }

    public func optionalBool(_ column: String) throws -> Bool? {
        let (info, text) = try cell(column, accepting: [PostgresValue.OID.bool], as: "Bool")
        switch text {
        case nil: return nil
        case "t": return true
        case "f": return false
        case let text?: throw unparsable(info, text, "Bool")
        }
    }

    public func bytes(_ column: String) throws -> [UInt8] {
        try required(column, optionalBytes(column))
    }

    public func optionalBytes(_ column: String) throws -> [UInt8]? {
        let (info, text) = try cell(column, accepting: [PostgresValue.OID.bytea], as: "[UInt8]")
        guard let text else { return nil }
        guard let bytes = PostgresTextFormat.parseByteaHex(text) else { throw unparsable(info, text, "[UInt8]") }
        return bytes
    }

    public func date(_ column: String) throws -> Date {
        try required(column, optionalDate(column))
    }

    public func optionalDate(_ column: String) throws -> Date? {
        let O = PostgresValue.OID.self
        let (info, text) = try cell(
            column, accepting: [O.timestamptz, O.timestamp, O.float4, O.float8, O.numeric, O.int2, O.int4, O.int8],
            as: "Date")
        guard let text else { return nil }
        if info.typeOID == O.timestamptz || info.typeOID == O.timestamp {
            guard let date = PostgresTextFormat.parseTimestamp(text) else { throw unparsable(info, text, "Date") }
            return date
        }
        guard let seconds = Self.parseDouble(text) else { throw unparsable(info, text, "Date") }
        return Date(timeIntervalSince1970: seconds)
    }

    public func bytesArray(_ column: String) throws -> [[UInt8]] {
        try required(column, optionalBytesArray(column))
    }

    /// nil for a NULL array; throws for NULL elements.
    public func optionalBytesArray(_ column: String) throws -> [[UInt8]]? {
        let (info, text) = try cell(column, accepting: [PostgresValue.OID.byteaArray], as: "[[UInt8]]")
        guard let text else { return nil }
        return try PostgresTextFormat.parseArray(text).map { element in
            guard let element else { throw nullElement(info) }
            guard let bytes = PostgresTextFormat.parseByteaHex(element) else {
                throw unparsable(info, element, "[UInt8]")
            }
            return bytes
        }
    }

    public func stringArray(_ column: String) throws -> [String] {
        try required(column, optionalStringArray(column))
    }

    /// nil for a NULL array; throws for NULL elements.
    public func optionalStringArray(_ column: String) throws -> [String]? {
        let O = PostgresValue.OID.self
        let (info, text) = try cell(
            column, accepting: [O.textArray, O.varcharArray, O.bpcharArray, O.nameArray], as: "[String]")
        guard let text else { return nil }
        return try PostgresTextFormat.parseArray(text).map { element in
            guard let element else { throw nullElement(info) }
            return element
        }
    }

    // MARK: helpers

    private func cell(_ name: String, accepting types: Set<UInt32>?, as swiftType: String) throws
        -> (info: PostgresColumn, text: String?)
    {
        guard let i = layout.index[name] else {
            let known = layout.columns.map(\.name).joined(separator: ", ")
            throw PostgresError(.decoding, "no column \"\(name)\" in the result (columns: \(known))")
        }
        let info = layout.columns[i]
        if let types, !types.contains(info.typeOID) {
            throw mismatch(info, swiftType)
        }
        return (info, cells[i])
    }

    private func required<T>(_ column: String, _ value: T?) throws -> T {
        guard let value else {
            throw PostgresError(
                .decoding, "column \"\(column)\" is NULL; use the optional accessor if NULL is expected")
        }
        return value
    }

    private func mismatch(_ info: PostgresColumn, _ swiftType: String, extra: String = "") -> PostgresError {
        PostgresError(
            .decoding,
            "column \"\(info.name)\" has type \(Self.typeName(info.typeOID)), which does not read as \(swiftType)\(extra)")
    }

    private func unparsable(_ info: PostgresColumn, _ text: String, _ swiftType: String) -> PostgresError {
        PostgresError(.decoding, "column \"\(info.name)\": \"\(text.prefix(60))\" does not parse as \(swiftType)")
    }

    private func nullElement(_ info: PostgresColumn) -> PostgresError {
        PostgresError(.decoding, "column \"\(info.name)\" holds an array with a NULL element")
    }

    private static func parseDouble(_ text: String) -> Double? {
        switch text {
        case "NaN": .nan
        case "Infinity": .infinity
        case "-Infinity": -.infinity
        default: Double(text)
        }
    }

    private static func typeName(_ oid: UInt32) -> String {
        let O = PostgresValue.OID.self
        switch oid {
        case O.bool: return "boolean"
        case O.bytea: return "bytea"
        case O.char: return "\"char\""
        case O.name: return "name"
        case O.int8: return "bigint"
        case O.int2: return "smallint"
        case O.int4: return "integer"
        case O.text: return "text"
        case O.oid: return "oid"
        case O.float4: return "real"
        case O.float8: return "double precision"
        case O.byteaArray: return "bytea[]"
        case O.textArray: return "text[]"
        case O.varcharArray: return "varchar[]"
        case O.timestamp: return "timestamp"
        case O.timestamptz: return "timestamptz"
        case O.numeric: return "numeric"
        case 1043: return "varchar"
        case 1042: return "char(n)"
        case 114: return "json"
        case 3802: return "jsonb"
        case 2950: return "uuid"
        case 1082: return "date"
        case 1186: return "interval"
        default: return "oid \(oid)"
        }
    }
}
