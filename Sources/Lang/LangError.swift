/// An error of the language, as a value: what kind, what went wrong, and where.
///
/// `formatted(sources:)` renders it as `error: line 3, col 9: message`, the source line and a caret,
/// then a short trace of user-function calls for runtime errors.
public struct LangError: Error, CustomStringConvertible {
    /// The class of an error; it decides a script's exit status.
    public enum Kind: Sendable {
        /// The text is not a valid program (exit status 65).
        case syntax
        /// The program failed while running (exit status 70).
        case runtime
        /// A file could not be read or written (exit status 74).
        case io
        /// The user interrupted the run (exit status 130).
        case interrupted
    }

    /// The class of the error.
    public var kind: Kind
    /// What went wrong, without the place.
    public var message: String
    /// Where it went wrong, if known.
    public var position: SourcePosition?
    /// User-function calls active when a runtime error happened, innermost first: `in f (called at line 7)`.
    public var trace: [String] = []

    /// An error of `kind` with `message` at `position`.
    public init(_ kind: Kind, _ message: String, at position: SourcePosition? = nil) {
        self.kind = kind
        self.message = message
        self.position = position
    }

    /// A syntax error at `position`.
    public static func syntax(_ message: String, at position: SourcePosition) -> LangError {
        LangError(.syntax, message, at: position)
    }

    /// A runtime error at `position`.
    public static func runtime(_ message: String, at position: SourcePosition?) -> LangError {
        LangError(.runtime, message, at: position)
    }

    /// The exit status a script ends with when this error stops it: 65, 70, 74 or 130.
    public var exitStatus: Int32 {
        switch kind {
        case .syntax: return 65
        case .runtime: return 70
        case .io: return 74
        case .interrupted: return 130
        }
    }

    /// The first line of the report: `error: line 3, col 9: message`.
    public var headline: String {
        guard let p = position else { return "error: \(message)" }
        return "error: line \(p.line), col \(p.column): \(message)"
    }

    /// The headline alone (use `formatted(sources:)` for the source line and caret).
    public var description: String { headline }

    /// The full report: headline, source line with a caret under the column, and the call trace.
    /// `sources` maps a position's `sourceID` to its text.
    public func formatted(sources: [String]) -> String {
        var out = headline
        if let p = position, p.sourceID >= 0, p.sourceID < sources.count {
            let lines = sources[p.sourceID].split(separator: "\n", omittingEmptySubsequences: false)
            if p.line >= 1, p.line <= lines.count {
                let text = String(lines[p.line - 1]).replacingCarriageReturn()
                var caret = ""
                for (i, c) in text.unicodeScalars.enumerated() where i < p.column - 1 { caret.append(c == "\t" ? "\t" : " ") }
                out += "\n    " + text + "\n    " + caret + "^"
            }
        }
        for entry in trace.prefix(8) { out += "\n  " + entry }
        if trace.count > 8 { out += "\n  ... \(trace.count - 8) more calls" }
        return out
    }
}

/// An error a primitive throws; the interpreter adds the place of the call.
public struct PrimitiveError: Error, CustomStringConvertible {
    /// The class of the error (`.runtime` or `.io` usually).
    public var kind: LangError.Kind
    /// What went wrong.
    public var message: String

    /// A runtime error with `message`.
    public init(_ message: String, kind: LangError.Kind = .runtime) {
        self.kind = kind
        self.message = message
    }

    /// An input/output error with `message` (exit status 74).
    public static func io(_ message: String) -> PrimitiveError { PrimitiveError(message, kind: .io) }

    /// The message.
    public var description: String { message }
}

extension String {
    func replacingCarriageReturn() -> String {
        hasSuffix("\r") ? String(dropLast()) : self
    }
}

/// Up to `limit` names from `candidates` close to `name` (edit distance at most a third of its length, at least 1).
public func suggestions(for name: String, in candidates: [String], limit: Int = 1) -> [String] {
    let maxDistance = max(1, name.count / 3)
    var scored: [(Int, String)] = []
    var seen = Set<String>()
    for c in candidates where c != name && !seen.contains(c) {
        seen.insert(c)
        let d = editDistance(name.lowercased(), c.lowercased())
        if d <= maxDistance { scored.append((d, c)) }
    }
    scored.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
    return scored.prefix(limit).map { $0.1 }
}

/// " (did you mean 'x'?)" naming the closest of `candidates` to `name`, or "" if none is close.
public func didYouMean(_ name: String, _ candidates: [String]) -> String {
    guard let best = suggestions(for: name, in: candidates).first else { return "" }
    return " (did you mean '\(best)'?)"
}

/// Levenshtein distance with transpositions counted as one edit.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
    for i in 0...x.count { d[i][0] = i }
    for j in 0...y.count { d[0][j] = j }
    for i in 1...x.count {
        for j in 1...y.count {
            let cost = x[i - 1] == y[j - 1] ? 0 : 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
        }
    }
    return d[x.count][y.count]
}
