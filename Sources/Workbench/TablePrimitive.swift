import Foundation
import Lang

/// The `table` primitive: a list of records as aligned text, for printing results such as the rounds' table.
enum TablePrimitive {
    static func register(in session: Session) {
        session.interpreter.register(Primitive(
            "table", [Parameter("rows", .list), Parameter("columns", .list, default: .nil), Parameter("digits", .integer, default: .number(3))],
            summary: "A list of records as an aligned text table (one line per record, a header, numbers with `digits` decimals).",
            help: "columns: which fields, in order (default: the first record's). nil shows as '-'; whole numbers show without decimals.",
            example: "print(table(rows, columns: [\"stage\", \"sr_oracle\"], digits: 3))"
        ) { args in
            let items = try args["rows"].elements(for: "table")
            let digits = try args.int("digits")
            guard (0...12).contains(digits) else { throw PrimitiveError("table(): digits must be in 0...12, got \(digits)") }
            var records: [Record] = []
            for (k, item) in items.enumerated() {
                guard case .record(let r) = item else { throw PrimitiveError("table(): element \(k) is \(item.typeName), not a record") }
                records.append(r)
            }
            var columns = records.first?.keys ?? []
            if args["columns"] != .nil {
                columns = try args["columns"].elements(for: "table").map { v in
                    guard let s = v.string else { throw PrimitiveError("table(): columns must be field names (strings), got \(v.typeName)") }
                    return s
                }
            }
            return .string(render(records, columns: columns, digits: digits))
        })
    }

    /// The text of the table: a header line, then one line per record; text columns left-aligned, number columns
    /// (and their headers) right-aligned.
    static func render(_ records: [Record], columns: [String], digits: Int) -> String {
        let cells: [[String]] = records.map { r in columns.map { cell(r[$0], digits: digits) } }
        let numeric: [Bool] = columns.indices.map { c in
            records.allSatisfy { r in if case .string? = r[columns[c]] { return false }; return true }
        }
        let widths = columns.indices.map { c in max(columns[c].count, cells.map { $0[c].count }.max() ?? 0) }
        func line(_ values: [String]) -> String {
            values.indices.map { c in
                let pad = String(repeating: " ", count: widths[c] - values[c].count)
                return numeric[c] ? pad + values[c] : values[c] + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        return ([line(columns)] + cells.map { line($0) }).joined(separator: "\n")
    }

    /// One cell: strings raw, whole numbers without decimals, other numbers with `digits` decimals, nil as `-`.
    static func cell(_ value: Value?, digits: Int) -> String {
        switch value {
        case .none, .some(.nil): return "-"
        case .some(.number(let n)):
            if n == n.rounded(), abs(n) < 1e15 { return String(Int(n)) }
            return String(format: "%.\(digits)f", n)
        case .some(.string(let s)): return s
        case .some(let v): return v.printed
        }
    }
}
