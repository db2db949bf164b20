/// Minimal RFC 4180 CSV: fields separated by commas, quoted with `"` when they hold a comma, quote or line break
/// (a quote inside is doubled). Records end with LF or CRLF.
enum CSV {
    /// One field, quoted when needed.
    static func escape(_ field: String) -> String {
        if field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return field
    }

    /// A record as one line (with its LF).
    static func line(_ fields: [String]) -> String { fields.map(escape).joined(separator: ",") + "\n" }

    /// Parses `text` into records, each with the 1-based line number it starts on. Blank lines are dropped.
    /// Throws on a quote left open, naming its line.
    static func parse(_ text: String, path: String) throws -> [(line: Int, fields: [String])] {
        var records: [(Int, [String])] = []
        var fields: [String] = [], field = "", inQuotes = false, afterQuote = false
        var line = 1, recordLine = 1
        var chars = Array(text.unicodeScalars)
        if chars.first == "\u{FEFF}" { chars.removeFirst() }
        var i = 0
        func endRecord() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].isEmpty) { records.append((recordLine, fields)) }
            fields = []; field = ""; afterQuote = false
        }
        while i < chars.count {
            let c = chars[i]
            if inQuotes {
                if c == "\"" {
                    if i + 1 < chars.count && chars[i + 1] == "\"" { field.unicodeScalars.append("\""); i += 1 } else { inQuotes = false; afterQuote = true }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" && field.isEmpty && !afterQuote {
                inQuotes = true
            } else if c == "," {
                fields.append(field); field = ""; afterQuote = false
            } else if c == "\n" || c == "\r" {
                if c == "\r" && i + 1 < chars.count && chars[i + 1] == "\n" { i += 1 }
                endRecord()
                line += 1
                recordLine = line
            } else {
                field.unicodeScalars.append(c)
            }
            i += 1
        }
        if inQuotes { throw CurationError.badCSV(path: path, problems: ["line \(recordLine): a quoted field is never closed"]) }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        return records
    }
}
