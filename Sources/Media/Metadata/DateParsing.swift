/// Date strings from EXIF, XMP, video containers and file names, turned into wall-clock
/// seconds (as if UTC) plus an optional offset, with no time-zone database involved.
enum DateParsing {
    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func seconds(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int) -> Int64? {
        guard (1800...2200).contains(y), (1...12).contains(mo), (1...31).contains(d),
              (0...23).contains(h), (0...59).contains(mi), (0...60).contains(s) else { return nil }
        let monthDays = [31, (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard d <= monthDays[mo - 1] else { return nil }
        return days(year: y, month: mo, day: d) * 86_400 + Int64(h * 3600 + mi * 60 + s)
    }

    /// "+02:00", "-0530", "Z" → minutes east of UTC.
    static func offset(_ text: Substring) -> Int? {
        let t = text.trimmingPrefix(while: { $0 == " " })
        if t == "Z" { return 0 }
        guard let sign = t.first, sign == "+" || sign == "-" else { return nil }
        let digits = t.dropFirst().filter { $0 != ":" }
        guard digits.count == 4 || digits.count == 2, digits.allSatisfy(\.isASCII), let n = Int(digits) else { return nil }
        let minutes = digits.count == 4 ? (n / 100) * 60 + n % 100 : n * 60
        guard minutes <= 14 * 60 else { return nil }
        return sign == "-" ? -minutes : minutes
    }

    /// Numbers of a date-time string: "2019:07:04 12:34:56", "2019-07-04T12:34:56.123+02:00".
    /// Returns wall-clock seconds and the offset when the string carries one.
    static func iso8601(_ text: String) -> (local: Int64, offset: Int?)? {
        let t = Substring(text.trimmingPrefix(while: { $0 == " " }).prefix(64))
        let chars = Array(t.utf8)
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= chars.count else { return nil }
            var v = 0
            for c in chars[start..<start + count] {
                guard (48...57).contains(c) else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard let y = number(0, 4), let mo = number(5, 2), let d = number(8, 2) else { return nil }
        let h = number(11, 2) ?? 0, mi = number(14, 2) ?? 0, s = number(17, 2) ?? 0
        guard let local = seconds(y, mo, d, h, mi, s) else { return nil }
        var rest = chars.count > 19 ? t.dropFirst(19) : ""
        if rest.first == "." || rest.first == "," { rest = rest.drop(while: { $0 == "." || $0 == "," || $0.isNumber }) }
        return (local, rest.isEmpty ? nil : offset(rest))
    }

    /// A date in a camera or phone file name: `IMG_20190704_123456`, `PXL_20190704_123456789`,
    /// `2019-07-04 12.34.56`, `Screenshot_2019-07-04-12-34-56`, `VID_20190704_123456`.
    static func fromFileName(_ name: String) -> Int64? {
        let chars = Array(name.utf8.prefix(255))
        var i = 0
        while i + 14 <= chars.count {
            if let value = dateAt(chars, i) { return value }
            i += 1
        }
        return nil
    }

    /// Tries "YYYY[sep]MM[sep]DD sep HH[sep]MM[sep]SS" starting at `start`.
    private static func dateAt(_ c: [UInt8], _ start: Int) -> Int64? {
        if start > 0, (48...57).contains(c[start - 1]) { return nil }
        var p = start
        var parts: [Int] = []
        let widths = [4, 2, 2, 2, 2, 2]
        for (k, w) in widths.enumerated() {
            if k > 0, p < c.count {
                let sep = c[p]
                let allowed: [UInt8] = k == 3 ? [0x5F, 0x2D, 0x20, 0x54, 0x2E] : [0x2D, 0x5F, 0x2E, 0x3A]
                if allowed.contains(sep) { p += 1 } else if k == 3 { return nil }
            }
            guard p + w <= c.count else { return nil }
            var v = 0
            for ch in c[p..<p + w] {
                guard (48...57).contains(ch) else { return nil }
                v = v * 10 + Int(ch - 48)
            }
            parts.append(v)
            p += w
        }
        guard (1990...2100).contains(parts[0]) else { return nil }
        return seconds(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5])
    }
}
