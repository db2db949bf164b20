/// Turns source text into tokens. Newlines are tokens (the parser decides when they end a statement);
/// runs of blank lines and comments collapse into one newline token.
struct Scanner {
    private let chars: [Unicode.Scalar]
    private var index = 0
    private var line: Int
    private var column: Int
    private let sourceID: Int
    private var tokens: [Token] = []

    /// A scanner over `source`; positions start at `line`/`column` (used for interpolated code).
    init(_ source: String, sourceID: Int = 0, line: Int = 1, column: Int = 1) {
        self.chars = Array(source.unicodeScalars)
        self.sourceID = sourceID
        self.line = line
        self.column = column
    }

    /// All tokens of the source, ending with `.eof`; throws a syntax error at the first bad character.
    mutating func scanTokens() throws -> [Token] {
        if index == 0, chars.first == "\u{FEFF}" { index = 1 } // a byte-order mark
        while true {
            skipSpacesAndComments()
            guard let c = peek() else { break }
            let start = SourcePosition(line: line, column: column, sourceID: sourceID)
            let startIndex = index
            advance()
            switch c {
            case "\n":
                if tokens.last?.kind != .newline && !tokens.isEmpty { add(.newline, "\n", start) }
            case "(": add(.leftParen, "(", start)
            case ")": add(.rightParen, ")", start)
            case "[": add(.leftBracket, "[", start)
            case "]": add(.rightBracket, "]", start)
            case "{": add(.leftBrace, "{", start)
            case "}": add(.rightBrace, "}", start)
            case ",": add(.comma, ",", start)
            case ":": add(.colon, ":", start)
            case ";": add(.semicolon, ";", start)
            case "+": add(.plus, "+", start)
            case "-": add(.minus, "-", start)
            case "*": add(.star, "*", start)
            case "/": add(.slash, "/", start)
            case "%": add(.percent, "%", start)
            case "=":
                if match("=") { add(.equalEqual, "==", start) }
                else if match(">") { add(.arrow, "=>", start) }
                else { add(.equal, "=", start) }
            case "!":
                if match("=") { add(.bangEqual, "!=", start) }
                else { throw LangError.syntax("unexpected '!' (use 'not' for negation)", at: start) }
            case "<":
                if match("=") { add(.lessEqual, "<=", start) } else { add(.less, "<", start) }
            case ">":
                if match("=") { add(.greaterEqual, ">=", start) } else { add(.greater, ">", start) }
            case "|":
                guard match(">") else { throw LangError.syntax("unexpected '|' (did you mean '|>'?)", at: start) }
                add(.pipe, "|>", start)
            case ".":
                if peek() == ".", peek(1) == "." { advance(); advance(); add(.rangeInclusive, "...", start) }
                else if peek() == ".", peek(1) == "<" { advance(); advance(); add(.rangeHalfOpen, "..<", start) }
                else if let d = peek(), isDigit(d) { throw LangError.syntax("a number needs a digit before '.' (write 0.\(d))", at: start) }
                else { add(.dot, ".", start) }
            case "\"":
                try scanString(start)
            default:
                if isDigit(c) { try scanNumber(startIndex, start) }
                else if isIdentStart(c) { scanIdentifier(startIndex, start) }
                else { throw LangError.syntax("unexpected character '\(c.escaped(asASCII: false))'", at: start) }
            }
        }
        let end = SourcePosition(line: line, column: column, sourceID: sourceID)
        tokens.append(Token(kind: .eof, lexeme: "", position: end))
        return tokens
    }

    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        index + ahead < chars.count ? chars[index + ahead] : nil
    }

    private mutating func advance() {
        if chars[index] == "\n" { line += 1; column = 1 } else { column += 1 }
        index += 1
    }

    private mutating func match(_ c: Unicode.Scalar) -> Bool {
        guard peek() == c else { return false }
        advance()
        return true
    }

    private mutating func add(_ kind: TokenKind, _ lexeme: String, _ at: SourcePosition) {
        tokens.append(Token(kind: kind, lexeme: lexeme, position: at))
    }

    private mutating func skipSpacesAndComments() {
        while let c = peek() {
            if c == " " || c == "\t" || c == "\r" { advance() }
            else if c == "#" { while let d = peek(), d != "\n" { advance() } }
            else { break }
        }
    }

    private func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
    private func isIdentStart(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" }

    private mutating func scanIdentifier(_ startIndex: Int, _ start: SourcePosition) {
        while let c = peek(), isIdentStart(c) || isDigit(c) { advance() }
        let text = String(String.UnicodeScalarView(chars[startIndex..<index]))
        add(keywords[text] ?? .identifier, text, start)
    }

    private mutating func scanNumber(_ startIndex: Int, _ start: SourcePosition) throws {
        while let c = peek(), isDigit(c) { advance() }
        if peek() == ".", let d = peek(1), isDigit(d) {
            advance()
            while let c = peek(), isDigit(c) { advance() }
        }
        if peek() == "e" || peek() == "E" {
            var ahead = 1
            if peek(1) == "+" || peek(1) == "-" { ahead = 2 }
            if let d = peek(ahead), isDigit(d) {
                for _ in 0..<ahead { advance() }
                while let c = peek(), isDigit(c) { advance() }
            }
        }
        if let c = peek(), isIdentStart(c) {
            throw LangError.syntax("unexpected '\(c)' after number", at: SourcePosition(line: line, column: column, sourceID: sourceID))
        }
        let text = String(String.UnicodeScalarView(chars[startIndex..<index]))
        guard let value = Double(text) else { throw LangError.syntax("malformed number '\(text)'", at: start) }
        var token = Token(kind: .number, lexeme: text, position: start)
        token.number = value
        tokens.append(token)
    }

    private mutating func scanString(_ start: SourcePosition) throws {
        var pieces: [StringPiece] = []
        var text = String.UnicodeScalarView()
        while true {
            guard let c = peek() else { throw LangError.syntax("unterminated string", at: start) }
            if c == "\"" { advance(); break }
            if c == "\\" {
                let escapeAt = SourcePosition(line: line, column: column, sourceID: sourceID)
                advance()
                guard let e = peek() else { throw LangError.syntax("unterminated string", at: start) }
                switch e {
                case "n": text.append("\n")
                case "t": text.append("\t")
                case "\"": text.append("\"")
                case "\\": text.append("\\")
                case "{": text.append("{")
                case "}": text.append("}")
                default: throw LangError.syntax("unknown escape '\\\(e)' (use \\n \\t \\\" \\\\ \\{)", at: escapeAt)
                }
                advance()
            } else if c == "{" {
                if !text.isEmpty { pieces.append(.text(String(text))); text = String.UnicodeScalarView() }
                let open = SourcePosition(line: line, column: column, sourceID: sourceID)
                advance()
                let codeStart = SourcePosition(line: line, column: column, sourceID: sourceID)
                let from = index
                try skipInterpolation(open)
                let code = String(String.UnicodeScalarView(chars[from..<index]))
                advance() // the closing brace
                if code.allSatisfy({ $0 == " " }) { throw LangError.syntax("empty interpolation '{}' in string (write \\{ for a brace)", at: open) }
                pieces.append(.code(code, codeStart))
            } else {
                text.append(c)
                advance()
            }
        }
        if !text.isEmpty || pieces.isEmpty { pieces.append(.text(String(text))) }
        var token = Token(kind: .string, lexeme: "\"", position: start)
        token.pieces = pieces
        tokens.append(token)
    }

    /// Moves to the `}` closing an interpolation, stepping over nested braces and strings.
    private mutating func skipInterpolation(_ open: SourcePosition) throws {
        var depth = 0
        while let c = peek() {
            switch c {
            case "{": depth += 1
            case "}":
                if depth == 0 { return }
                depth -= 1
            case "\"":
                advance()
                while let d = peek(), d != "\"" {
                    if d == "\\" { advance(); if peek() == nil { break } }
                    if d == "\n" { break }
                    advance()
                }
                guard peek() == "\"" else { throw LangError.syntax("unterminated interpolation '{' in string (or a string inside it)", at: open) }
            case "\n":
                throw LangError.syntax("unterminated interpolation '{' in string", at: open)
            default: break
            }
            advance()
        }
        throw LangError.syntax("unterminated interpolation '{' in string", at: open)
    }
}
