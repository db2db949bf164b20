/// Parses tokens into statements: recursive descent for statements, a Pratt table for expressions.
///
/// Newlines end statements except inside `()`, `[]` and record literals, after a binary operator,
/// `,` or `|>`, and before a line that starts with `|>` or `else`. The first syntax error is thrown.
final class Parser {
    var tokens: [Token]
    var current = 0
    /// Whether newlines are skipped at this nesting level (true inside brackets, false in blocks).
    var ignoreNewlines: [Bool] = [false]
    /// Nesting depth of expressions and blocks, bounded so deep input gives an error, not a crash.
    var depth: Int
    let sourceID: Int
    static let maxDepth = 160

    /// A parser over `tokens` from source `sourceID`.
    init(tokens: [Token], sourceID: Int = 0, depth: Int = 0) {
        self.tokens = tokens
        self.sourceID = sourceID
        self.depth = depth
    }

    /// Scans and parses a whole program.
    static func parse(_ source: String, sourceID: Int = 0) throws -> [Stmt] {
        var scanner = Scanner(source, sourceID: sourceID)
        let parser = Parser(tokens: try scanner.scanTokens(), sourceID: sourceID)
        return try parser.parseProgram()
    }

    /// All statements up to the end of input.
    func parseProgram() throws -> [Stmt] {
        var statements: [Stmt] = []
        while true {
            skipTerminators()
            if check(.eof) { break }
            let s = try statement()
            statements.append(s)
            try endOfStatement(after: s)
        }
        return statements
    }

    // MARK: Token access

    /// The current token, stepping over newlines where they are insignificant.
    func peek() -> Token {
        if ignoreNewlines[ignoreNewlines.count - 1] {
            while tokens[current].kind == .newline { current += 1 }
        }
        return tokens[current]
    }

    /// The token after the current one, ignoring newlines.
    func peekNext() -> Token { peekAhead(1) }

    /// The token `n` places after the current one, ignoring newlines.
    func peekAhead(_ n: Int) -> Token {
        _ = peek()
        var i = current
        for _ in 0..<n {
            i += 1
            while i < tokens.count - 1, tokens[i].kind == .newline { i += 1 }
        }
        return tokens[min(i, tokens.count - 1)]
    }

    func check(_ kind: TokenKind) -> Bool { peek().kind == kind }

    @discardableResult
    func advance() -> Token {
        let t = peek()
        if t.kind != .eof { current += 1 }
        return t
    }

    func match(_ kind: TokenKind) -> Bool {
        guard check(kind) else { return false }
        advance()
        return true
    }

    @discardableResult
    func consume(_ kind: TokenKind, _ message: String) throws -> Token {
        guard check(kind) else { throw error(message + ", found " + describe(peek()), at: peek()) }
        return advance()
    }

    func skipNewlines() {
        while tokens[current].kind == .newline { current += 1 }
    }

    func skipTerminators() {
        while tokens[current].kind == .newline || tokens[current].kind == .semicolon { current += 1 }
    }

    /// Whether the next significant token after newlines is `kind` (used for `else` and leading `|>`).
    func nextLineStarts(with kind: TokenKind) -> Bool {
        var i = current
        while tokens[i].kind == .newline { i += 1 }
        return tokens[i].kind == kind
    }

    func error(_ message: String, at token: Token) -> LangError {
        LangError.syntax(message, at: token.position)
    }

    func describe(_ t: Token) -> String {
        switch t.kind {
        case .newline: return "end of line"
        case .eof: return "end of input"
        case .string: return "a string"
        case .number: return "number '\(t.lexeme)'"
        default: return "'\(t.lexeme)'"
        }
    }

    func withNewlines<T>(ignored: Bool, _ body: () throws -> T) rethrows -> T {
        ignoreNewlines.append(ignored)
        defer { ignoreNewlines.removeLast() }
        return try body()
    }

    func enterNesting(_ at: Token) throws {
        depth += 1
        if depth > Parser.maxDepth { throw error("nested too deeply (more than \(Parser.maxDepth) levels)", at: at) }
    }

    // MARK: Statements

    /// Checks what follows a statement: a newline, ';', '}' or the end. A statement that ends with a
    /// block (`if`, `for`, `while`, `fn`, `{}`) may be followed directly by another on the same line.
    func endOfStatement(after statement: Stmt? = nil) throws {
        let t = tokens[current]
        if let s = statement, current > 0, tokens[current - 1].kind == .rightBrace {
            switch s {
            case .ifElse, .forIn, .whileLoop, .block, .function: return
            default: break
            }
        }
        switch t.kind {
        case .newline, .semicolon: skipTerminators()
        case .rightBrace, .eof: break
        default: throw error("expected a new line or ';' after the statement, found \(describe(t))", at: t)
        }
    }

    func statement() throws -> Stmt {
        let t = peek()
        switch t.kind {
        case .kwLet:
            advance()
            let name = try consume(.identifier, "expected a name after 'let'")
            try consume(.equal, "expected '=' after 'let \(name.lexeme)'")
            skipNewlines()
            return .letBinding(VarRef(name.lexeme, name.position), try expression())
        case .kwFn where peekNext().kind == .identifier:
            advance()
            let name = advance()
            let decl = try functionRest(name: name.lexeme, at: t)
            return .function(VarRef(name.lexeme, name.position), decl)
        case .kwIf:
            return try ifStatement()
        case .kwFor:
            advance()
            let name = try consume(.identifier, "expected a loop variable after 'for'")
            try consume(.kwIn, "expected 'in' after 'for \(name.lexeme)'")
            let sequence = try expression()
            return .forIn(VarRef(name.lexeme, name.position), sequence, try block("the 'for' loop"), t.position)
        case .kwWhile:
            advance()
            let condition = try expression()
            return .whileLoop(condition, try block("the 'while' loop"), t.position)
        case .kwBreak:
            advance()
            return .breakLoop(t.position)
        case .kwContinue:
            advance()
            return .continueLoop(t.position)
        case .kwReturn:
            advance()
            let next = tokens[current].kind
            if next == .newline || next == .semicolon || next == .rightBrace || next == .eof { return .returnValue(nil, t.position) }
            return .returnValue(try expression(), t.position)
        case .leftBrace where !(peekAhead(2).kind == .colon && [.identifier, .string].contains(peekNext().kind)):
            // `{name: ...` at the start of a statement is a record literal; any other `{` opens a block.
            return .block(try block("the block"))
        case .kwElse:
            throw error("'else' without 'if'", at: t)
        case .identifier where peekNext().kind == .equal:
            advance()
            advance()
            skipNewlines()
            return .assign(VarRef(t.lexeme, t.position), try expression())
        default:
            let e = try expression()
            if check(.equal) {
                throw error("can only assign to a name (bindings are 'let x = ...' or 'x = ...')", at: peek())
            }
            return .expression(e, t.position)
        }
    }

    func ifStatement() throws -> Stmt {
        let ifToken = advance()
        try enterNesting(ifToken)
        defer { depth -= 1 }
        let condition = try expression()
        let then = try block("the 'if'")
        if nextLineStarts(with: .kwElse) {
            skipNewlines()
            advance()
            if check(.kwIf) { return .ifElse(condition, then, try ifStatement()) }
            return .ifElse(condition, then, .block(try block("the 'else'")))
        }
        return .ifElse(condition, then, nil)
    }

    /// `{ statements }`, newlines significant inside.
    func block(_ what: String) throws -> Block {
        let open = peek()
        guard open.kind == .leftBrace else { throw error("expected '{' to start the body of \(what), found \(describe(open))", at: open) }
        try enterNesting(open)
        defer { depth -= 1 }
        advance()
        let statements: [Stmt] = try withNewlines(ignored: false) {
            var list: [Stmt] = []
            while true {
                skipTerminators()
                if check(.rightBrace) { break }
                if check(.eof) { throw error("missing '}' to close the '{' at line \(open.position.line)", at: peek()) }
                let s = try statement()
                list.append(s)
                try endOfStatement(after: s)
            }
            return list
        }
        advance()
        return Block(statements)
    }

    /// Parameters and body after `fn name` or `fn`.
    func functionRest(name: String, at fnToken: Token) throws -> FunctionDecl {
        try consume(.leftParen, "expected '(' after '\(name == "<lambda>" ? "fn" : "fn " + name)'")
        let parameters: [ParameterDecl] = try withNewlines(ignored: true) {
            var params: [ParameterDecl] = []
            var seen = Set<String>()
            while !check(.rightParen) {
                let p = try consume(.identifier, "expected a parameter name")
                if seen.contains(p.lexeme) { throw error("duplicate parameter '\(p.lexeme)'", at: p) }
                seen.insert(p.lexeme)
                var defaultValue: Expr? = nil
                if match(.colon) { defaultValue = try expression() }
                else if let last = params.last, last.defaultValue != nil {
                    throw error("parameter '\(p.lexeme)' needs a default because '\(last.name)' has one", at: p)
                }
                params.append(ParameterDecl(name: p.lexeme, defaultValue: defaultValue, position: p.position))
                if !match(.comma) { break }
            }
            try consume(.rightParen, "expected ')' after the parameters")
            return params
        }
        let body: [Stmt]
        if check(.arrow) {
            let arrow = advance()
            skipNewlines()
            body = [.returnValue(try expression(), arrow.position)]
        } else {
            body = try block("the function").statements
        }
        return FunctionDecl(name: name, parameters: parameters, body: body, position: fnToken.position)
    }
}
