/// A place in a source text: 1-based line and column, plus the id of the source it belongs to.
public struct SourcePosition: Equatable, Sendable {
    /// 1-based line number.
    public var line: Int
    /// 1-based column, counted in Unicode scalars.
    public var column: Int
    /// Index of the source text in the interpreter's table of sources.
    public var sourceID: Int

    /// A position in source `sourceID`.
    public init(line: Int, column: Int, sourceID: Int = 0) {
        self.line = line
        self.column = column
        self.sourceID = sourceID
    }
}

/// The kinds of tokens the scanner produces.
enum TokenKind: Equatable, Sendable {
    // Single and double character punctuation.
    case leftParen, rightParen, leftBracket, rightBracket, leftBrace, rightBrace
    case comma, dot, colon, semicolon, newline
    case plus, minus, star, slash, percent
    case equal, equalEqual, bang, bangEqual, less, lessEqual, greater, greaterEqual
    case arrow            // =>
    case pipe             // |>
    case rangeInclusive   // ...
    case rangeHalfOpen    // ..<
    // Literals.
    case identifier, number, string
    // Keywords.
    case kwLet, kwFn, kwIf, kwElse, kwFor, kwIn, kwWhile, kwBreak, kwContinue, kwReturn
    case kwTrue, kwFalse, kwNil, kwAnd, kwOr, kwNot
    case eof
}

/// One piece of a string literal: literal text, or the source of an interpolated expression.
enum StringPiece: Equatable, Sendable {
    /// Literal text with escapes already decoded.
    case text(String)
    /// The source of `{expr}` and the position of its first character.
    case code(String, SourcePosition)
}

/// A token: its kind, the text it was made from, where it starts, and its literal value if any.
struct Token: Equatable, Sendable {
    /// What kind of token this is.
    var kind: TokenKind
    /// The exact source text of the token.
    var lexeme: String
    /// Where the token starts.
    var position: SourcePosition
    /// The value of a number literal.
    var number: Double = 0
    /// The pieces of a string literal.
    var pieces: [StringPiece] = []
}

/// Keywords by spelling.
let keywords: [String: TokenKind] = [
    "let": .kwLet, "fn": .kwFn, "if": .kwIf, "else": .kwElse, "for": .kwFor, "in": .kwIn,
    "while": .kwWhile, "break": .kwBreak, "continue": .kwContinue, "return": .kwReturn,
    "true": .kwTrue, "false": .kwFalse, "nil": .kwNil, "and": .kwAnd, "or": .kwOr, "not": .kwNot,
]
