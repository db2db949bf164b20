extension Value {
    /// The form `print` writes: strings raw, everything else as in `repr`.
    public var printed: String {
        if case .string(let s) = self { return s }
        return repr
    }

    /// The form shown inside lists and records: strings quoted and escaped.
    public var repr: String { repr(depth: 0) }

    /// `repr`, eliding containers nested deeper than 200 levels as `[...]` / `{...}`.
    func repr(depth: Int) -> String {
        switch self {
        case .nil: return "nil"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return Value.format(n)
        case .string(let s): return Value.quote(s)
        case .list(let items):
            if depth > 200 { return "[...]" }
            return "[" + items.map { $0.repr(depth: depth + 1) }.joined(separator: ", ") + "]"
        case .record(let r):
            if r.count == 0 { return "{}" }
            if depth > 200 { return "{...}" }
            return "{" + zip(r.keys, r.values).map { "\($0): \($1.repr(depth: depth + 1))" }.joined(separator: ", ") + "}"
        case .range(let lo, let hi, let inclusive): return "\(lo)\(inclusive ? "..." : "..<")\(hi)"
        case .function(let c): return "<fn \(c.signature)>"
        case .primitive(let p): return "<primitive \(p.name)>"
        case .object(let o): return o.summary
        }
    }

    /// Integral values without a fraction (`3`), others in the shortest form that reads back (`0.1`, `2.5e-07`).
    public static func format(_ n: Double) -> String {
        if n.isNaN { return "nan" }
        if n.isInfinite { return n < 0 ? "-inf" : "inf" }
        if n == n.rounded(), abs(n) < 1e16 { return String(Int64(n)) }
        return "\(n)"
    }

    /// A double-quoted string literal that reads back to `s`.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "{": out += "\\{"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }
}
