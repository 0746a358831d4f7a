import Foundation

/// PostgreSQL's text formats, both ways: bytea hex (`\x0aff`), array literals
/// (`{"a","b\"c"}`), and ISO 8601 timestamps. The connection pins the session settings these
/// depend on (`bytea_output = hex`, `DateStyle = ISO, YMD`, `TimeZone = UTC`).
enum PostgresTextFormat {
    // MARK: bytea

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// `\x` followed by two lowercase hex digits per byte; `\x` alone for no bytes.
    static func byteaHex(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(2 + bytes.count * 2)
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: "x"))
        for byte in bytes {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses bytea hex output (`\x...`); nil when the text is not in that format.
    static func parseByteaHex(_ text: String) -> [UInt8]? {
        var utf8 = text.utf8.makeIterator()
        guard utf8.next() == UInt8(ascii: "\\"), utf8.next() == UInt8(ascii: "x") else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity((text.utf8.count - 2) / 2)
        while let high = utf8.next() {
            guard let low = utf8.next(), let h = hexValue(high), let l = hexValue(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        return bytes
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: arrays

    /// A one-dimensional array literal with every element double-quoted, so that commas, braces,
    /// quotes, backslashes, spaces and the word NULL all arrive as data: `{"a","b\"c"}`.
    static func arrayLiteral(_ elements: [String]) -> String {
        var out = "{"
        for (i, element) in elements.enumerated() {
            if i > 0 { out += "," }
            out += "\""
            for ch in element.unicodeScalars {
                if ch == "\"" || ch == "\\" { out += "\\" }
                out.unicodeScalars.append(ch)
            }
            out += "\""
        }
        return out + "}"
    }

    /// Parses the text output of a one-dimensional array (`{a,"b c",NULL}`, possibly preceded by
    /// explicit bounds like `[0:1]=`). Unquoted NULL is SQL NULL (nil); a quoted "NULL" is text.
    /// Throws for multi-dimensional arrays and malformed text.
    static func parseArray(_ text: String) throws -> [String?] {
        let bytes = Array(text.utf8)
        var i = 0
        func fail(_ why: String) -> PostgresError {
            PostgresError(.decoding, "malformed array text (\(why)): \(text.prefix(80))")
        }
        // Optional dimension decoration: [lower:upper]=
        if i < bytes.count, bytes[i] == UInt8(ascii: "[") {
            guard let eq = bytes.firstIndex(of: UInt8(ascii: "=")) else { throw fail("bounds without '='") }
            i = eq + 1
        }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { throw fail("no '{'") }
        i += 1
        var elements = [String?]()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
            guard i + 1 == bytes.count else { throw fail("text after '}'") }
            return elements
        }
        while true {
            guard i < bytes.count else { throw fail("unterminated") }
            var element = [UInt8]()
            var quoted = false
            switch bytes[i] {
            case UInt8(ascii: "{"):
                throw PostgresError(.decoding, "multi-dimensional arrays are not supported: \(text.prefix(80))")
            case UInt8(ascii: "\""):
                quoted = true
                i += 1
                while true {
                    guard i < bytes.count else { throw fail("unterminated quoted element") }
                    let c = bytes[i]
                    if c == UInt8(ascii: "\"") { i += 1; break }
                    if c == UInt8(ascii: "\\") {
                        i += 1
                        guard i < bytes.count else { throw fail("dangling backslash") }
                    }
                    element.append(bytes[i])
                    i += 1
                }
            default:
                while i < bytes.count, bytes[i] != UInt8(ascii: ","), bytes[i] != UInt8(ascii: "}") {
                    if bytes[i] == UInt8(ascii: "\\") {
                        i += 1
                        guard i < bytes.count else { throw fail("dangling backslash") }
                    }
                    element.append(bytes[i])
                    i += 1
                }
            }
            let value = String(decoding: element, as: UTF8.self)
            if !quoted, value.uppercased() == "NULL" {
                elements.append(nil)
            } else {
                elements.append(value)
            }
            guard i < bytes.count else { throw fail("unterminated") }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard bytes[i] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
            guard i + 1 == bytes.count else { throw fail("text after '}'") }
            return elements
        }
    }

    // MARK: timestamps

    /// `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`, rounded to the microsecond (PostgreSQL's resolution).
    /// Years before 1 AD are not supported by this format and come out as years <= 0.
    static func timestamp(_ date: Date) -> String {
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        let total = Int64(max(min(micros, 9.0e18), -9.0e18))
        let (seconds, micro) = floorDivide(total, 1_000_000)
        let (days, secondOfDay) = floorDivide(seconds, 86_400)
        let (year, month, day) = civil(fromDays: days)
        let hour = secondOfDay / 3600, minute = secondOfDay / 60 % 60, second = secondOfDay % 60
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
            + ".\(pad(micro, 6))+00:00"
    }

    /// Parses timestamptz / timestamp text output in the ISO DateStyle:
    /// `2024-05-06 07:08:09.123456+00`, offsets like `+05:30` or `-03:00:15`, a trailing ` BC`,
    /// and `infinity` / `-infinity` (as `Date.distantFuture` / `.distantPast`). Text without an
    /// offset (a `timestamp` column) is read as UTC.
    static func parseTimestamp(_ text: String) -> Date? {
        switch text {
        case "infinity": return .distantFuture
        case "-infinity": return .distantPast
        default: break
        }
        var s = Substring(text)
        var bc = false
        if s.hasSuffix(" BC") {
            bc = true
            s = s.dropLast(3)
        }
        let b = Array(s.utf8)
        var i = 0
        func number(minDigits: Int, maxDigits: Int) -> Int64? {
            var value: Int64 = 0, digits = 0
            while i < b.count, digits < maxDigits, b[i] >= 48, b[i] <= 57 {
                value = value * 10 + Int64(b[i] - 48)
                i += 1
                digits += 1
            }
            return digits >= minDigits ? value : nil
        }
        func expect(_ c: Character) -> Bool {
            guard i < b.count, b[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard var year = number(minDigits: 4, maxDigits: 9), expect("-"),
            let month = number(minDigits: 2, maxDigits: 2), expect("-"),
            let day = number(minDigits: 2, maxDigits: 2),
            i < b.count, b[i] == UInt8(ascii: " ") || b[i] == UInt8(ascii: "T")
        else { return nil }
        i += 1
        guard let hour = number(minDigits: 2, maxDigits: 2), expect(":"),
            let minute = number(minDigits: 2, maxDigits: 2), expect(":"),
            let second = number(minDigits: 2, maxDigits: 2)
        else { return nil }
        var micro: Int64 = 0
        if expect(".") {
            let start = i
            guard let fraction = number(minDigits: 1, maxDigits: 9) else { return nil }
            var digits = i - start
            micro = fraction
            while digits < 6 { micro *= 10; digits += 1 }
            while digits > 6 { micro /= 10; digits -= 1 }
        }
        var offset: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let oh = number(minDigits: 2, maxDigits: 2) else { return nil }
            var om: Int64 = 0, os: Int64 = 0
            if expect(":") {
                guard let m = number(minDigits: 2, maxDigits: 2) else { return nil }
                om = m
                if expect(":") {
                    guard let sec = number(minDigits: 2, maxDigits: 2) else { return nil }
                    os = sec
                }
            }
            offset = sign * (oh * 3600 + om * 60 + os)
        } else if expect("Z") {
            offset = 0
        }
        guard i == b.count, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60,
            second < 61
        else { return nil }
        if bc { year = 1 - year }
        let days = days(fromCivil: year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + Double(micro) / 1_000_000)
    }

    // MARK: helpers

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value.magnitude)
        let padded = digits.count < width ? String(repeating: "0", count: width - digits.count) + digits : digits
        return value < 0 ? "-" + padded : padded
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        var q = a / b, r = a % b
        if r < 0 { q -= 1; r += b }
        return (q, r)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (inverse of the above).
    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
